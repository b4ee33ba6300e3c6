/**
 * `npm run demo`: reghook end to end on this machine, in one command.
 *
 * Starts `reghook serve` on a temporary SQLite file and an example receiver (the receiver SDK's
 * createNodeHandler + createDeduper) on a loopback port, reports a few Self Service and store
 * registrations and purchases, makes the receiver fail one delivery to show a retry, redelivers one
 * event to show deduplication, and prints what happened step by step. Then it leaves reghook running
 * (dashboard URL, project API key, admin token on screen) until Ctrl-C.
 *
 *   npm run demo                  # interactive; Ctrl-C stops everything and removes the temp dir
 *   npm run demo -- --port 8080   # reghook on a fixed port instead of a free one
 *   npm run demo -- --ci          # (or REGHOOK_DEMO_EXIT=1) exit after the summary: 0 when every
 *                                 # expected webhook arrived exactly once after dedupe, 1 otherwise
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDemoReceiver, type DemoReceiver } from './receiver.js';
import { startReghook, type ReghookChild } from './reghook.js';

const RETRY_INTERVAL = '2s';
const APP_ID = 1;
/** How long the demo waits for every expected webhook (the retry comes after RETRY_INTERVAL). */
const WAIT_FOR_WEBHOOKS_MS = 30_000;

interface Options {
  ci: boolean;
  reghookArgs: string[];
}

const USAGE = `usage: npm run demo [-- [--port <n>] [--ci]]
  --port <n>  reghook listens on this port (default: any free port)
  --ci        exit after the summary: 0 if every expected webhook arrived exactly once, 1 if not
              (same as REGHOOK_DEMO_EXIT=1)`;

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { ci: process.env.REGHOOK_DEMO_EXIT === '1', reghookArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--ci') options.ci = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === '--port' || arg.startsWith('--port=')) {
      const value = arg === '--port' ? argv[++i] : arg.slice('--port='.length);
      if (value === undefined || !/^\d+$/.test(value)) fail(`--port needs a number\n${USAGE}`);
      options.reghookArgs.push('--port', value);
    } else fail(`unknown argument "${arg}"\n${USAGE}`);
  }
  return options;
}

function fail(message: string): never {
  console.error(`reghook demo: ${message}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Output

const say = (line = '') => console.log(line ? `  ${line}` : '');
let stepNumber = 0;
function step(title: string): void {
  console.log(`\nStep ${++stepNumber}. ${title}`);
}
const json = (value: unknown) => JSON.stringify(value);
/** Secrets are shortened on screen (the receiver has the whole one). */
const short = (secret: string) => `${secret.slice(0, 10)}…`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The run

/** The fields of the API answers the demo reads (SPEC section 5). */
interface Answer {
  apiKey?: string;
  signingSecret?: string;
  eventId?: string | null;
  status?: string;
  triggered?: boolean;
  reason?: string;
  attemptCount?: number;
  attempts?: { number: number; trigger: string; startedAt: string; durationMs: number | null; statusCode: number | null; error: string | null }[];
  data?: { eventId: string; clientUuid: string; status: string; attemptCount: number }[];
  nextCursor?: string | null;
}

interface CallOptions {
  /** What to print instead of the request body (registrations carry personal data). */
  show?: string;
  /** The status the demo expects; anything else is a problem for the summary. */
  expect?: number;
  /** Default: the admin token. */
  token?: string;
  /** What to print instead of the whole answer. */
  render?: (answer: Answer) => string;
}

interface Api {
  call(method: string, url: string, body?: unknown, options?: CallOptions): Promise<{ status: number; json: Answer | null }>;
}

/** What went wrong, for the summary (an unexpected API answer, a missing webhook, …). */
const problems: string[] = [];

function makeApi(base: string, adminToken: string): Api {
  return {
    async call(method, url, body, options = {}) {
      const shownBody = options.show ?? (body === undefined ? '' : json(body));
      say(`→ ${method} ${url}${shownBody ? ` ${shownBody}` : ''}`);
      const res = await fetch(base + url, {
        method,
        headers: {
          authorization: `Bearer ${options.token ?? adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      const shown = parsed && typeof parsed === 'object' && 'signingSecret' in parsed
        ? { ...parsed, signingSecret: short(String((parsed as { signingSecret: unknown }).signingSecret)) }
        : parsed;
      const rendered = options.render && res.ok && shown && typeof shown === 'object' ? options.render(shown as Answer) : undefined;
      say(`← ${res.status} ${rendered ?? (typeof shown === 'string' ? shown : json(shown))}`);
      if (options.expect !== undefined && res.status !== options.expect) {
        problems.push(`${method} ${url} answered ${res.status}, expected ${options.expect}`);
        say(`!! expected HTTP ${options.expect}`);
      }
      return { status: res.status, json: parsed && typeof parsed === 'object' ? (parsed as Answer) : null };
    },
  };
}

interface DemoUser {
  label: string;
  clientUuid: string;
  storeRegister: boolean;
}

let userNumber = 0;
function user(label: string, storeRegister: boolean): DemoUser {
  return { label, clientUuid: randomUUID(), storeRegister };
}

/** A registration report (SPEC section 3). The personal fields are made up, and never printed. */
function registrationOf(u: DemoUser): Record<string, unknown> {
  userNumber++;
  return {
    clientUuid: u.clientUuid,
    clientIp: `203.0.113.${userNumber}`,
    country: 'TR',
    language: 'en',
    storeRegister: u.storeRegister,
    subscriberId: `90555000000${userNumber}`,
    subscriberName: `Demo Subscriber ${userNumber}`,
    appId: APP_ID,
    flowId: 1,
    siteId: 1,
    registerDate: new Date().toISOString().slice(0, 19).replace('T', ' '),
    registerOtpStatus: false,
  };
}
const registrationShown = (u: DemoUser) => `(${u.label}: clientUuid ${u.clientUuid}, storeRegister ${u.storeRegister}, personal fields not shown)`;

function check(ok: boolean, what: string): void {
  if (!ok) problems.push(what);
}

async function until<T>(what: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(50);
  }
}

interface Running {
  dir: string;
  reghook: ReghookChild | null;
  receiver: DemoReceiver | null;
}

async function run(options: Options, running: Running): Promise<{ ok: boolean; url: string; apiKey: string; adminToken: string }> {
  console.log('reghook demo');
  console.log('============');
  console.log('One reghook service and one receiver on this machine; a few registrations and purchases;');
  console.log('which of them become webhooks, a failed delivery retried, a duplicate skipped.');

  // 1. reghook
  step('Start reghook (reghook serve)');
  const adminToken = `rhadm_demo_${randomBytes(24).toString('base64url')}`;
  const env = {
    REGHOOK_DATABASE_URL: `sqlite:${path.join(running.dir, 'reghook.db')}`,
    REGHOOK_PORT: '0',
    REGHOOK_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8',
    REGHOOK_RETRY_INTERVAL: RETRY_INTERVAL,
    REGHOOK_ADMIN_TOKEN: adminToken,
    REGHOOK_LOG_LEVEL: 'warn',
  };
  say(`database:       ${env.REGHOOK_DATABASE_URL} (temporary, removed when the demo stops)`);
  say(`retry interval: ${RETRY_INTERVAL} (production default 1h), so a retry shows within seconds`);
  say(`network policy: loopback (127.0.0.0/8) allowed, so reghook may deliver to the receiver on this machine`);
  running.reghook = await startReghook(env, options.reghookArgs, (line) => say(line.startsWith('reghook:') ? line : `reghook log: ${line}`));
  const base = running.reghook.url;
  const api = makeApi(base, adminToken);

  // 2. the receiver
  step('Start the example receiver');
  const selfService1 = user('Self Service user 1', false);
  const selfService2 = user('Self Service user 2', false);
  const storeBuyer = user('store user 1', true);
  const storeEarlyBuyer = user('store user 2', true);
  const storeWindowShopper = user('store user 3', true);
  const receiver = await startDemoReceiver({ say, failOnceForClientUuid: selfService1.clientUuid });
  running.receiver = receiver;
  say(`listening on ${receiver.url}`);
  say('It verifies each signature with reghook/receiver, skips webhook-ids it already processed, and');
  say('logs identifiers only (appId, clientUuid, webhook-id), never personal data.');
  say(`To show a retry it answers HTTP 500 to the first delivery of ${selfService1.label}'s event.`);

  // 3. project and endpoint
  step('Create a project (admin token)');
  const project = await api.call('POST', '/v1/projects', { appId: APP_ID, name: 'Demo shop' }, { expect: 201 });
  const apiKey = String(project.json?.apiKey ?? '');
  say('The answer carries the project API key, shown once: the project owner uses it for the API and the dashboard.');

  step("Set the project's webhook endpoint (with the project API key, as the project owner would)");
  const endpoint = await api.call('PUT', `/v1/projects/${APP_ID}/webhook`, { url: receiver.url }, { expect: 200, token: apiKey });
  const secret = String(endpoint.json?.signingSecret ?? '');
  check(secret.startsWith('whsec_'), 'the first PUT of the endpoint did not answer a signing secret');
  receiver.useSecret(secret);
  say('The first PUT answers the signing secret (whsec_…); the receiver verifies with it from now on.');

  // 4. Self Service registrations
  step('Report Self Service registrations: the webhook goes out at once');
  const r1 = await api.call('POST', '/v1/registrations', registrationOf(selfService1), { show: registrationShown(selfService1), expect: 202 });
  const evt1 = r1.json?.eventId ?? undefined;
  const body2 = registrationOf(selfService2);
  const r2 = await api.call('POST', '/v1/registrations', body2, { show: registrationShown(selfService2), expect: 202 });
  const evt2 = r2.json?.eventId ?? undefined;
  await sleep(300); // let the first deliveries print before the next request
  say(`The same report again (a retried API call): reghook answers the original result and creates nothing.`);
  const r2again = await api.call('POST', '/v1/registrations', body2, { show: `(${selfService2.label} again, same data)`, expect: 200 });
  check(r2again.json?.eventId === evt2, 'the repeated registration answered another eventId');

  // 5. store registrations and purchases
  step('Report store registrations and purchases: the webhook goes out at the first purchase, once');
  const r3 = await api.call('POST', '/v1/registrations', registrationOf(storeBuyer), { show: registrationShown(storeBuyer), expect: 202 });
  check(r3.json?.status === 'awaiting_first_purchase', 'a store registration did not wait for its first purchase');
  say('No webhook yet: a store user is announced at the first purchase.');
  const p1 = await api.call('POST', '/v1/purchases', { appId: APP_ID, clientUuid: storeBuyer.clientUuid, transactionId: 'txn-1001' }, { expect: 202 });
  const evt3 = p1.json?.eventId ?? undefined;
  await sleep(300);
  say('A second purchase (new transactionId): not the first, so no webhook.');
  const p2 = await api.call('POST', '/v1/purchases', { appId: APP_ID, clientUuid: storeBuyer.clientUuid, transactionId: 'txn-1002' }, { expect: 200 });
  check(p2.json?.triggered === false && p2.json?.reason === 'not_first_purchase', 'a later purchase was not answered not_first_purchase');
  say('The first purchase reported again (same transactionId): the original answer, same eventId, no new webhook.');
  const p1again = await api.call('POST', '/v1/purchases', { appId: APP_ID, clientUuid: storeBuyer.clientUuid, transactionId: 'txn-1001' }, { expect: 200 });
  check(p1again.json?.eventId === evt3, 'the repeated purchase answered another eventId');

  say(`A purchase reported before its registration (${storeEarlyBuyer.label}): recorded, waiting for the registration.`);
  const p3 = await api.call('POST', '/v1/purchases', { appId: APP_ID, clientUuid: storeEarlyBuyer.clientUuid, transactionId: 'txn-2001' }, { expect: 202 });
  check(p3.json?.reason === 'awaiting_registration', 'an early purchase was not answered awaiting_registration');
  const r4 = await api.call('POST', '/v1/registrations', registrationOf(storeEarlyBuyer), { show: registrationShown(storeEarlyBuyer), expect: 202 });
  const evt4 = r4.json?.eventId ?? undefined;
  say('The registration finds the purchase, so the webhook goes out now.');
  await sleep(300);

  say(`${storeWindowShopper.label} registers in the store and never buys: no webhook.`);
  await api.call('POST', '/v1/registrations', registrationOf(storeWindowShopper), { show: registrationShown(storeWindowShopper), expect: 202 });
  say(`A purchase by a Self Service user: the webhook was already sent at registration.`);
  await api.call('POST', '/v1/purchases', { appId: APP_ID, clientUuid: selfService2.clientUuid, transactionId: 'txn-3001' }, { expect: 200 });

  // 6. waiting for everything, and the retry
  const expected = new Map<string, DemoUser>();
  for (const [id, u] of [[evt1, selfService1], [evt2, selfService2], [evt3, storeBuyer], [evt4, storeEarlyBuyer]] as const) {
    if (id) expected.set(id, u);
    else problems.push(`no eventId for ${u.label}`);
  }
  step(`Wait for every webhook (${selfService1.label}'s comes again after the ${RETRY_INTERVAL} retry interval)`);
  const allIn = await until(() => ([...expected.keys()].every((id) => receiver.processed.has(id)) ? true : undefined), WAIT_FOR_WEBHOOKS_MS);
  say(allIn ? `All ${expected.size} expected webhooks were processed by the receiver.` : `Gave up after ${WAIT_FOR_WEBHOOKS_MS / 1000} s.`);

  let retried = false;
  if (evt1) {
    // The attempt's result is recorded right after the receiver answers: wait for it quietly.
    await until(async () => {
      const res = await fetch(`${base}/v1/projects/${APP_ID}/events/${evt1}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const body = (await res.json()) as Answer;
      return body.status === 'delivered' || body.status === 'failed' ? true : undefined;
    }, 10_000);
    const detail = await api.call('GET', `/v1/projects/${APP_ID}/events/${evt1}`, undefined, {
      expect: 200,
      token: apiKey,
      render: (e) => `{"eventId":"${e.eventId}","status":"${e.status}","attemptCount":${e.attemptCount},"payload":{…the webhook body…},"attempts":[…]}`,
    });
    const attempts = detail.json?.attempts ?? [];
    for (const a of attempts) {
      const result = a.statusCode !== null ? `HTTP ${a.statusCode}` : (a.error ?? 'no result');
      say(`   attempt ${a.number}  ${a.trigger.padEnd(9)}  ${a.startedAt}  ${result.padEnd(8)}  ${a.durationMs ?? '?'} ms`);
    }
    const [first, second] = attempts;
    if (first && second && first.statusCode === 500 && second.statusCode === 200) {
      retried = true;
      const gap = ((Date.parse(second.startedAt) - Date.parse(first.startedAt)) / 1000).toFixed(1);
      say(`Retry: ${evt1} failed with HTTP 500 on attempt 1; reghook retried it ${gap} s later and attempt 2 was delivered (HTTP 200).`);
    } else {
      problems.push(`${selfService1.label}'s event was not retried after the HTTP 500 (attempts: ${json(attempts)})`);
    }
  }

  // 7. redelivery: the receiver deduplicates
  let duplicateSkipped = false;
  if (evt2) {
    step('Redeliver one event by hand (as from the dashboard): the receiver skips the duplicate');
    await api.call('POST', `/v1/projects/${APP_ID}/events/${evt2}/redeliver`, undefined, { expect: 202, token: apiKey });
    duplicateSkipped = (await until(() => (receiver.deliveries.some((d) => d.webhookId === evt2 && d.outcome === 'duplicate') ? true : undefined), 10_000)) === true;
    if (!duplicateSkipped) problems.push('the redelivery did not reach the receiver as a duplicate');
    say('Same webhook-id on every attempt of an event: that is what a receiver deduplicates on.');
  }

  // 8. the delivery log
  step('The delivery log (what the dashboard shows under Developer Tools → Webhooks)');
  const log = await api.call('GET', `/v1/projects/${APP_ID}/events`, undefined, {
    expect: 200,
    token: apiKey,
    render: (answer) => `{"data":[${answer.data?.length ?? 0} events, newest first],"nextCursor":${json(answer.nextCursor ?? null)}}`,
  });
  const listed = log.json?.data ?? [];
  for (const e of listed) {
    const label = expected.get(e.eventId)?.label ?? '(unexpected)';
    say(`   ${e.eventId}  ${label.padEnd(19)}  ${e.status.padEnd(9)}  ${e.attemptCount} attempt(s)`);
  }
  say(`(${selfService1.label}'s 2 attempts: the HTTP 500 and its retry. ${selfService2.label}'s second attempt: the manual redelivery.)`);
  check(listed.length === expected.size, `the delivery log lists ${listed.length} events, expected ${expected.size}`);

  // 9. summary
  const processed = receiver.processed;
  const once = [...expected.keys()].filter((id) => processed.get(id)?.count === 1).length;
  const moreThanOnce = [...expected.keys()].filter((id) => (processed.get(id)?.count ?? 0) > 1).length;
  const missing = [...expected.keys()].filter((id) => !processed.has(id));
  const unexpected = [...processed.keys()].filter((id) => !expected.has(id));
  const wrongUser = [...expected].filter(([id, u]) => processed.has(id) && processed.get(id)!.clientUuid !== u.clientUuid);
  const count = (outcome: DemoReceiver['deliveries'][number]['outcome']) => receiver.deliveries.filter((d) => d.outcome === outcome).length;
  for (const id of missing) problems.push(`${expected.get(id)!.label}'s webhook (${id}) never arrived`);
  for (const id of unexpected) problems.push(`an unexpected webhook arrived: ${id} (clientUuid ${processed.get(id)!.clientUuid})`);
  for (const [id, u] of wrongUser) problems.push(`${id} carried another user than ${u.label}`);
  if (moreThanOnce > 0) problems.push(`${moreThanOnce} webhook(s) were processed more than once`);
  check(![...processed.values()].some((p) => p.clientUuid === storeWindowShopper.clientUuid), 'a webhook was sent for a store user who never bought');

  console.log('');
  console.log(
    `Summary: ${expected.size} webhooks expected, ${processed.size} received after dedupe: ` +
      `${once} exactly once, ${moreThanOnce} more than once, ${missing.length} missing, ${unexpected.length} unexpected.`,
  );
  console.log(
    `         ${receiver.deliveries.length} deliveries reached the receiver: ${count('processed')} processed, ` +
      `${count('failed_on_purpose')} answered HTTP 500 on purpose (then retried${retried ? '' : ' — NOT SEEN'}), ` +
      `${count('duplicate')} duplicate skipped${duplicateSkipped ? '' : ' — NOT SEEN'}` +
      `${count('refused') + count('error') > 0 ? `, ${count('refused') + count('error')} refused or failed` : ''}.`,
  );
  const ok = problems.length === 0 && once === expected.size && expected.size === 4;
  if (ok) console.log('Result: OK (each expected webhook processed exactly once; the failed delivery was retried; the duplicate was skipped)');
  else {
    console.log('Result: FAILED');
    for (const p of problems) console.log(`  - ${p}`);
  }
  return { ok, url: base, apiKey, adminToken };
}

// ---------------------------------------------------------------------------------------------
// Lifecycle: cleanup on every way out

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const running: Running = { dir: mkdtempSync(path.join(tmpdir(), 'reghook-demo-')), reghook: null, receiver: null };
  let finished: { ok: boolean } | null = null;

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await running.receiver?.close().catch(() => {});
      const code = await running.reghook?.stop();
      if (running.reghook) console.log(`  reghook stopped (exit code ${code}).`);
      rmSync(running.dir, { recursive: true, force: true });
      console.log(`  removed ${running.dir}`);
    })());

  // A last resort if the demo dies unexpectedly: no reghook left behind, no temp dir left over.
  process.on('exit', () => {
    running.reghook?.kill();
    rmSync(running.dir, { recursive: true, force: true });
  });
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt !== 0) {
      // A second Ctrl-C (not the same keypress delivered twice) stops waiting for the drain.
      if (Date.now() - firstSignalAt > 1000) process.exit(1);
      return;
    }
    firstSignalAt = Date.now();
    console.log(`\n${signal}: stopping the receiver and reghook (SIGTERM, it drains and exits)…`);
    void stop().then(() => process.exit(finished ? (finished.ok ? 0 : 1) : 130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let result: Awaited<ReturnType<typeof run>>;
  try {
    result = await run(options, running);
  } catch (error) {
    console.error(`\nreghook demo failed: ${error instanceof Error ? error.message : String(error)}`);
    await stop();
    process.exit(1);
  }
  finished = result;

  if (options.ci) {
    console.log('');
    await stop();
    process.exit(result.ok ? 0 : 1);
  }

  console.log('');
  console.log('reghook keeps running, so you can look around:');
  console.log(`  dashboard        ${result.url}/   (sign in with the project API key, or the admin token)`);
  console.log(`  API docs         ${result.url}/docs`);
  console.log(`  project API key  ${result.apiKey}   (appId ${APP_ID})`);
  console.log(`  admin token      ${result.adminToken}`);
  console.log(`  for example:     curl -H 'authorization: Bearer ${result.apiKey}' ${result.url}/v1/projects/${APP_ID}/events`);
  console.log('Press Ctrl-C to stop (the receiver stops, reghook drains and exits, the temporary database is removed).');
}

void main();
