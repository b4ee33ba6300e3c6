/**
 * Configuration: the only module that reads process.env. Environment variables and matching CLI
 * flags (`--retry-interval 250ms` for REGHOOK_RETRY_INTERVAL) are validated once, at start, into a
 * fully-defaulted ResolvedConfig; a bad value throws a ConfigError naming the variable.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { ConfigError } from './errors.js';
import { checkEndpointUrl, type NetworkPolicy, parseNetworkPolicy } from './dispatch/network-policy.js';
import { SECRET_PREFIX, secretKey as webhookSecretKey } from '@reghook/receiver/signing';
import { parseDuration } from './domain/duration.js';
import { parseSecretKeys } from './secrets/key-file.js';

export { parseDuration };

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface ResolvedConfig {
  database: DatabaseTarget;
  /** Folder for generated files (the secret key) and, by default, the SQLite database. */
  dataDir: string;
  host: string;
  port: number;
  adminToken: string | undefined;
  /** Base64 of 32 bytes; undefined = load or generate `<dataDir>/secret.key`. */
  secretKey: string | undefined;
  /** The waits after the 1st, 2nd, … failed attempt, the last repeating (REGHOOK_RETRY_INTERVAL). */
  retryIntervalsMs: number[];
  maxAttempts: number;
  /** Consecutive failed scheduled attempts that make an endpoint `failing` (REGHOOK_FAILING_AFTER). */
  failingAfter: number;
  deliveryTimeoutMs: number;
  networkPolicy: NetworkPolicy;
  retentionMs: number;
  awaitingRetentionMs: number;
  dispatch: boolean;
  /** SQLite: the store runs on its own thread (store/sqlite/threaded-store.ts). */
  sqliteThread: boolean;
  /** Attempts in flight at once in one process. */
  concurrency: number;
  /** Attempts in flight at once to one endpoint, so a slow endpoint cannot take every slot. */
  endpointConcurrency: number;
  /** Requests per minute one project API key may make. */
  keyRateLimitPerMinute: number;
  /**
   * Addresses and CIDRs of reverse proxies whose X-Forwarded-For is believed (empty: none, the
   * peer's own address is the client's).
   */
  trustProxy: string[];
  /**
   * The base URL people reach the service at (REGHOOK_PUBLIC_URL), as an origin (`https://host`,
   * no path); undefined: the address it listens on. Portal session links are built on it.
   */
  publicUrl: string | undefined;
  /** Origins whose pages may embed the dashboard in a frame (REGHOOK_DASHBOARD_FRAME_ANCESTORS); empty: none. */
  dashboardFrameAncestors: string[];
  /**
   * Operator notifications (SPEC section 5): where they go and the `whsec_…` secret that signs them
   * (REGHOOK_OPERATOR_WEBHOOK_URL / _SECRET, both or neither); undefined: none are stored or sent.
   */
  operatorWebhook: { url: string; secret: string } | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

type Source = Record<string, string | undefined>;

/** Turns `--retry-interval 250ms` / `--retry-interval=250ms` into `{ REGHOOK_RETRY_INTERVAL: '250ms' }`. */
export function flagsToVariables(args: readonly string[]): Source {
  const out: Source = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) value = 'true';
      else value = args[++i];
    }
    out[`REGHOOK_${name.toUpperCase().replace(/-/g, '_')}`] = value;
  }
  return out;
}

/** One setting: its variable, its default as the operator reads it, and what it means (help and docs/configuration.md). */
export interface Variable {
  name: string;
  default: string;
  meaning: string;
}

/** Every REGHOOK_* variable a process reads. docs/configuration.md lists exactly these (a test checks). */
export const VARIABLES: readonly Variable[] = [
  { name: 'REGHOOK_DATABASE_URL', default: 'sqlite:./data/reghook.db', meaning: 'sqlite:<path> or postgres://… (?schema=name&pool_size=10)' },
  { name: 'REGHOOK_DATA_DIR', default: "the SQLite file's folder (./data for PostgreSQL)", meaning: 'where secret.key is generated' },
  { name: 'REGHOOK_HOST', default: '127.0.0.1', meaning: 'address the API and dashboard listen on' },
  { name: 'REGHOOK_PORT', default: '8080', meaning: 'port the API and dashboard listen on (0 = any free port, printed)' },
  { name: 'REGHOOK_ADMIN_TOKEN', default: 'generated once, printed once', meaning: "the platform's token (at least 16 characters)" },
  { name: 'REGHOOK_SECRET_KEY', default: 'generated into <data dir>/secret.key (mode 0600)', meaning: 'base64 of 32 bytes that seals signing secrets at rest; every process of one deployment shares it. While rotating: new,old (see reghook rekey)' },
  { name: 'REGHOOK_RETRY_INTERVAL', default: '1h', meaning: 'wait after a failed attempt (250ms, 30s, 1h …), or a schedule: the waits after the 1st, 2nd, … failure, the last repeating (10m,30m,1h)' },
  { name: 'REGHOOK_MAX_ATTEMPTS', default: '10', meaning: 'attempts in all, first one included (1 to 100)' },
  { name: 'REGHOOK_DELIVERY_TIMEOUT', default: '10s', meaning: 'whole-request deadline of one attempt (at least 10ms)' },
  { name: 'REGHOOK_FAILING_AFTER', default: '3', meaning: 'consecutive failed scheduled attempts that make an endpoint failing (1 to 100; applies from the next attempt)' },
  { name: 'REGHOOK_ALLOW_PRIVATE_NETWORKS', default: 'false', meaning: 'true, or a comma-separated CIDR list, to allow such destinations' },
  { name: 'REGHOOK_RETENTION', default: '30d', meaning: 'how long finished events keep payloads and attempt bodies' },
  { name: 'REGHOOK_AWAITING_RETENTION', default: '365d', meaning: 'store registrations that never saw a purchase are dropped after this' },
  { name: 'REGHOOK_DISPATCH', default: 'true', meaning: 'false makes serve an API-only node' },
  { name: 'REGHOOK_SQLITE_THREAD', default: 'true when the machine has more than one core', meaning: 'SQLite only: run the database (its statements and fsyncs) on a thread of its own, so HTTP and deliveries use another core' },
  { name: 'REGHOOK_CONCURRENCY', default: '1024', meaning: 'attempts one process holds at once, from claim until the outcome is recorded (1 to 10000)' },
  { name: 'REGHOOK_ENDPOINT_CONCURRENCY', default: '64', meaning: 'the most attempts in flight at once to one endpoint (1 to 1000); each endpoint adapts below it' },
  { name: 'REGHOOK_KEY_RATE_LIMIT', default: '1200', meaning: 'requests per minute one project API key may make' },
  { name: 'REGHOOK_TRUST_PROXY', default: 'none', meaning: "comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed" },
  { name: 'REGHOOK_PUBLIC_URL', default: 'the listen address', meaning: 'base URL people reach the service at (https://reghook.example.com), without a path; portal session links are built on it' },
  { name: 'REGHOOK_DASHBOARD_FRAME_ANCESTORS', default: 'none', meaning: "comma-separated origins (https://panel.example.com) whose pages may embed the dashboard: a portal session then works inside an iframe there, and nowhere else" },
  { name: 'REGHOOK_OPERATOR_WEBHOOK_URL', default: 'none', meaning: "http(s) URL of the operator's own server, told about endpoint.failing, endpoint.recovered and event.failed (signed like webhooks; the network policy applies); needs REGHOOK_OPERATOR_WEBHOOK_SECRET" },
  { name: 'REGHOOK_OPERATOR_WEBHOOK_SECRET', default: 'none', meaning: 'the whsec_… secret that signs operator notifications (Standard Webhooks); needs REGHOOK_OPERATOR_WEBHOOK_URL' },
  { name: 'REGHOOK_LOG_LEVEL', default: 'info', meaning: 'fatal, error, warn, info, debug, trace or silent' },
  { name: 'REGHOOK_LISTEN_KEY', default: 'none', meaning: "reghook listen only: the project API key, instead of --key (which other users of the machine can read in the process list); the service ignores it" },
];

/** Secrets that may come from a file instead: REGHOOK_X_FILE=<path> holds the value of REGHOOK_X. */
export const FILE_VARIABLES = ['REGHOOK_ADMIN_TOKEN', 'REGHOOK_SECRET_KEY', 'REGHOOK_DATABASE_URL', 'REGHOOK_OPERATOR_WEBHOOK_SECRET'] as const;

const KNOWN: ReadonlySet<string> = new Set([...VARIABLES.map((v) => v.name), ...FILE_VARIABLES.map((name) => `${name}_FILE`)]);

/**
 * Prefixes of variables that belong to this repository's test suite, benchmarks and demo, not to
 * a reghook process: they are not refused as unknown.
 */
const NOT_CONFIGURATION = ['REGHOOK_TEST_', 'REGHOOK_BENCH_', 'REGHOOK_DEMO_'];

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two names. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known variable closest to a mistyped one, when it is close enough to be what was meant. */
export function closestVariable(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const known of KNOWN) {
    const d = distance(name, known);
    if (best === undefined || d < best.distance) best = { name: known, distance: d };
  }
  // Within a third of the name (the REGHOOK_ prefix not counted): a typo, not another setting.
  return best !== undefined && best.distance <= Math.max(2, Math.floor((name.length - 8) / 3)) ? best.name : undefined;
}

const flagOf = (name: string) => `--${name.slice('REGHOOK_'.length).toLowerCase().replace(/_/g, '-')}`;

/** Refuses a REGHOOK_* variable (or flag) no setting reads: a typo must not be ignored. */
function refuseUnknown(names: Iterable<string>, kind: 'variable' | 'option'): void {
  for (const name of names) {
    if (!name.startsWith('REGHOOK_') || KNOWN.has(name)) continue;
    if (kind === 'variable' && NOT_CONFIGURATION.some((prefix) => name.startsWith(prefix))) continue;
    const closest = closestVariable(name);
    const shown = kind === 'variable' ? name : flagOf(name);
    const hint = closest === undefined ? '' : `; did you mean ${kind === 'variable' ? closest : flagOf(closest)}?`;
    throw new ConfigError(`unknown ${kind} ${shown}${hint}`);
  }
}

/**
 * Resolves the `_FILE` form of a secret: REGHOOK_X_FILE names a file whose content (one trailing
 * newline removed) is REGHOOK_X. Giving both is an error; so is a file that cannot be read.
 */
function readSecretFiles(source: Source): { resolved: Source; fromFile: Set<string> } {
  const resolved: Source = { ...source };
  const fromFile = new Set<string>();
  for (const name of FILE_VARIABLES) {
    const file = source[`${name}_FILE`];
    delete resolved[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (source[name] !== undefined && source[name] !== '') {
      throw new ConfigError(`${name} and ${name}_FILE are both set; set only one`);
    }
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(`${name}_FILE=${file} cannot be read (${code})`);
    }
    content = content.replace(/\r?\n$/, '');
    if (content === '') throw new ConfigError(`${name}_FILE=${file} is empty`);
    resolved[name] = content;
    fromFile.add(name);
  }
  return { resolved, fromFile };
}

/**
 * Parses REGHOOK_TRUST_PROXY: comma-separated IP addresses and CIDRs (`10.0.0.1, 10.1.0.0/16,
 * fd00::/8`), or none. Throws a ConfigError naming the variable for anything else.
 */
export function parseTrustProxy(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const slash = entry.indexOf('/');
    const address = slash === -1 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    const prefix = slash === -1 ? null : entry.slice(slash + 1);
    const maxPrefix = family === 6 ? 128 : 32;
    if (family === 0 || (prefix !== null && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix))) {
      throw new ConfigError(
        `REGHOOK_TRUST_PROXY="${raw}": "${entry}" is not an IP address or CIDR (example: 10.0.0.0/8,192.0.2.1)`,
      );
    }
  }
  return entries;
}

/**
 * Parses REGHOOK_PUBLIC_URL: an http(s) URL without credentials, path, query or fragment (the
 * dashboard's links are absolute paths, so it cannot live below one). Answers its origin.
 */
export function parsePublicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const refuse = (why: string) => new ConfigError(`REGHOOK_PUBLIC_URL="${raw}" ${why} (example: https://reghook.example.com)`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('must be an http or https URL');
  if (url.username !== '' || url.password !== '') throw refuse('must not carry a user name or password');
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[?#]/.test(raw)) throw refuse('must have no path, query or fragment');
  return url.origin;
}

/**
 * Parses REGHOOK_DASHBOARD_FRAME_ANCESTORS: comma-separated origins (`https://panel.example.com`,
 * `http://localhost:3000`, `https://*.example.com`), each a CSP frame-ancestors source. No paths,
 * no keywords, no bare `*`: only listed sites may embed the dashboard.
 */
export function parseFrameAncestors(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw.split(',').map((entry) => {
    const source = entry.trim();
    const refuse = () =>
      new ConfigError(
        `REGHOOK_DASHBOARD_FRAME_ANCESTORS="${raw}": "${source}" is not an origin (scheme://host[:port], no path; examples: https://panel.example.com, https://*.example.com)`,
      );
    // A wildcard stands for one or more leading labels; the rest must be a host.
    const wildcard = /^(https?:\/\/)\*\.(.+)$/.exec(source);
    let url: URL;
    try {
      url = new URL(wildcard ? `${wildcard[1]}x.${wildcard[2]}` : source);
    } catch {
      throw refuse();
    }
    const bare = source.replace(/\/$/, '');
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse();
    if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') throw refuse();
    const origin = wildcard ? url.origin.replace('//x.', '//*.') : url.origin;
    // Anything the URL parser repaired or changed (spaces, odd characters) is refused, not guessed at.
    if (origin.toLowerCase() !== bare.toLowerCase()) throw refuse();
    return origin;
  });
}

/** Whether a host name is this machine (browsers treat http to it as a secure context). */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Validates the environment (and CLI flags, which win) into a ResolvedConfig, or throws ConfigError. */
export function loadConfig(env: Source = process.env, args: readonly string[] = []): ResolvedConfig {
  const flags = flagsToVariables(args);
  refuseUnknown(Object.keys(flags), 'option');
  refuseUnknown(Object.keys(env), 'variable');
  const { resolved: source, fromFile } = readSecretFiles({ ...env, ...flags });
  /** How an error names a setting: with the file it came from, never with a secret's value. */
  const named = (name: string) => (fromFile.has(name) ? `${name} (read from ${name}_FILE)` : name);
  const get = (name: string): string | undefined => {
    const value = source[name];
    return value === undefined || value === '' ? undefined : value;
  };

  const duration = (name: string, fallback: string, min = 1): number => {
    const raw = get(name) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === undefined || ms < min) {
      throw new ConfigError(`${name}="${raw}" is not a duration of at least ${min}ms (examples: 250ms, 30s, 1h, 30d)`);
    }
    return ms;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(`${name}="${raw}" must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new ConfigError(`${name}="${raw}" must be true or false`);
  };

  const databaseUrl = get('REGHOOK_DATABASE_URL') ?? 'sqlite:./data/reghook.db';
  let database: DatabaseTarget;
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') throw new ConfigError(`${named('REGHOOK_DATABASE_URL')}="${databaseUrl}" names no SQLite file`);
    database = { kind: 'sqlite', path: file };
  } else if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    database = { kind: 'postgres', url: databaseUrl };
  } else {
    throw new ConfigError(`${named('REGHOOK_DATABASE_URL')} must be sqlite:<path> or postgres://…`);
  }
  const dataDir = get('REGHOOK_DATA_DIR') ?? (database.kind === 'sqlite' ? path.dirname(database.path) : './data');

  const adminToken = get('REGHOOK_ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError(`${named('REGHOOK_ADMIN_TOKEN')} must be at least 16 characters`);
  }
  const secretKey = get('REGHOOK_SECRET_KEY');
  if (secretKey !== undefined && parseSecretKeys(secretKey) === null) {
    throw new ConfigError(
      `${named('REGHOOK_SECRET_KEY')} must be base64 of exactly 32 bytes (openssl rand -base64 32), ` +
        'or while rotating several such keys separated by commas, the new one first',
    );
  }

  let networkPolicy: NetworkPolicy;
  try {
    networkPolicy = parseNetworkPolicy(get('REGHOOK_ALLOW_PRIVATE_NETWORKS') ?? 'false');
  } catch (error) {
    throw new ConfigError(`REGHOOK_ALLOW_PRIVATE_NETWORKS: ${(error as Error).message}`);
  }

  const logLevel = get('REGHOOK_LOG_LEVEL') ?? 'info';
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  if (!(levels as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`REGHOOK_LOG_LEVEL="${logLevel}" must be one of ${levels.join(', ')}`);
  }

  const maxAttempts = integer('REGHOOK_MAX_ATTEMPTS', 10, 1, 100);
  /** `1h`, or `10m,30m,1h`: one wait per retry, the last repeating; no more waits than there are retries. */
  function retrySchedule(attempts: number): number[] {
    const raw = get('REGHOOK_RETRY_INTERVAL') ?? '1h';
    const waits = raw.split(',').map((entry) => parseDuration(entry));
    if (waits.some((ms) => ms === undefined || ms < 1)) {
      throw new ConfigError(
        `REGHOOK_RETRY_INTERVAL="${raw}" must be a duration of at least 1ms, or a comma-separated schedule of them (examples: 1h, 250ms, 10m,30m,1h)`,
      );
    }
    if (waits.length > Math.max(1, attempts - 1)) {
      throw new ConfigError(
        `REGHOOK_RETRY_INTERVAL lists ${waits.length} waits, but REGHOOK_MAX_ATTEMPTS=${attempts} leaves ${attempts - 1} retries: the waits after the last would never be used`,
      );
    }
    return waits as number[];
  }

  const host = get('REGHOOK_HOST') ?? '127.0.0.1';
  const publicUrl = parsePublicUrl(get('REGHOOK_PUBLIC_URL'));
  const dashboardFrameAncestors = parseFrameAncestors(get('REGHOOK_DASHBOARD_FRAME_ANCESTORS'));
  // An embedded session's cookie is Secure (a framed page gets only SameSite=None; Secure;
  // Partitioned cookies back), and browsers keep Secure cookies from https or loopback only.
  if (dashboardFrameAncestors.length > 0) {
    const served = new URL(publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}`);
    if (served.protocol !== 'https:' && !isLoopbackHost(served.hostname)) {
      throw new ConfigError(
        `REGHOOK_DASHBOARD_FRAME_ANCESTORS needs the dashboard on https: set REGHOOK_PUBLIC_URL=https://… (an embedded session's cookie is Secure, which browsers keep from https or loopback addresses only)`,
      );
    }
  }
  return {
    database,
    dataDir,
    host,
    port: integer('REGHOOK_PORT', 8080, 0, 65535),
    adminToken,
    secretKey,
    retryIntervalsMs: retrySchedule(maxAttempts),
    maxAttempts,
    failingAfter: integer('REGHOOK_FAILING_AFTER', 3, 1, 100),
    deliveryTimeoutMs: duration('REGHOOK_DELIVERY_TIMEOUT', '10s', 10),
    networkPolicy,
    retentionMs: duration('REGHOOK_RETENTION', '30d'),
    awaitingRetentionMs: duration('REGHOOK_AWAITING_RETENTION', '365d'),
    dispatch: boolean('REGHOOK_DISPATCH', true),
    sqliteThread: boolean('REGHOOK_SQLITE_THREAD', availableParallelism() > 1),
    concurrency: integer('REGHOOK_CONCURRENCY', 1024, 1, 10_000),
    endpointConcurrency: integer('REGHOOK_ENDPOINT_CONCURRENCY', 64, 1, 1_000),
    keyRateLimitPerMinute: integer('REGHOOK_KEY_RATE_LIMIT', 1200, 1, 10_000_000),
    trustProxy: parseTrustProxy(get('REGHOOK_TRUST_PROXY')),
    publicUrl,
    dashboardFrameAncestors,
    operatorWebhook: parseOperatorWebhook(get('REGHOOK_OPERATOR_WEBHOOK_URL'), get('REGHOOK_OPERATOR_WEBHOOK_SECRET'), networkPolicy),
    logLevel: logLevel as ResolvedConfig['logLevel'],
  };
}

/**
 * REGHOOK_OPERATOR_WEBHOOK_URL and _SECRET: both or neither; the URL passes the checks of an
 * endpoint URL (http/https, no credentials, a host the network policy allows), the secret is a
 * Standard Webhooks `whsec_<base64>`. The secret never appears in a message.
 */
export function parseOperatorWebhook(url: string | undefined, secret: string | undefined, policy: NetworkPolicy): ResolvedConfig['operatorWebhook'] {
  if (url === undefined && secret === undefined) return undefined;
  if (url === undefined) throw new ConfigError('REGHOOK_OPERATOR_WEBHOOK_SECRET is set without REGHOOK_OPERATOR_WEBHOOK_URL: set both, or neither');
  if (secret === undefined) throw new ConfigError('REGHOOK_OPERATOR_WEBHOOK_URL is set without REGHOOK_OPERATOR_WEBHOOK_SECRET (whsec_…): set both, or neither');
  const refused = checkEndpointUrl(policy, url);
  if (refused !== null) throw new ConfigError(`REGHOOK_OPERATOR_WEBHOOK_URL is refused: ${refused}`);
  let valid = secret.startsWith(SECRET_PREFIX);
  if (valid) {
    try {
      webhookSecretKey(secret);
    } catch {
      valid = false;
    }
  }
  if (!valid) throw new ConfigError(`REGHOOK_OPERATOR_WEBHOOK_SECRET must be a Standard Webhooks secret: ${SECRET_PREFIX} then base64 (the value is not shown)`);
  return { url, secret };
}

/** `reghook listen`: where the stream is, whose, and where each webhook goes. */
export interface ListenConfig {
  /** The reghook service's base URL. */
  url: string;
  /** The project API key (or the admin token). */
  key: string;
  appId: number;
  /** The local URL each webhook is POSTed to. */
  forwardTo: string;
}

const LISTEN_OPTIONS: Record<string, keyof ListenConfig> = {
  REGHOOK_URL: 'url',
  REGHOOK_KEY: 'key',
  REGHOOK_APP: 'appId',
  REGHOOK_FORWARD_TO: 'forwardTo',
};

/** An http(s) URL without credentials, or a ConfigError naming the option. */
function httpUrl(option: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${option} "${raw}" is not a URL (example: http://localhost:3000/webhooks)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${option} "${raw}" must be an http or https URL`);
  if (url.username !== '' || url.password !== '') throw new ConfigError(`${option} must not carry a user name or password`);
  return url.toString();
}

/**
 * Validates `reghook listen --url … --key … --app … --forward-to …` (the key may come from
 * REGHOOK_LISTEN_KEY instead) into a ListenConfig, or throws a ConfigError naming the option.
 * Other REGHOOK_* variables are a service's, not the listener's: they are not read here.
 */
export function loadListenConfig(env: Source = process.env, args: readonly string[] = []): ListenConfig {
  const flags = flagsToVariables(args);
  for (const name of Object.keys(flags)) {
    if (!(name in LISTEN_OPTIONS)) throw new ConfigError(`unknown option ${flagOf(name)} for reghook listen (its options: --url, --key, --app, --forward-to)`);
  }
  const flag = (name: string) => (flags[name] === undefined || flags[name] === '' || flags[name] === 'true' ? undefined : flags[name]);
  const url = httpUrl('--url', flag('REGHOOK_URL') ?? 'http://127.0.0.1:8080');
  const key = flag('REGHOOK_KEY') ?? (env.REGHOOK_LISTEN_KEY === '' ? undefined : env.REGHOOK_LISTEN_KEY);
  if (key === undefined) throw new ConfigError('reghook listen needs the project API key: --key rhk_… or REGHOOK_LISTEN_KEY');
  const app = flag('REGHOOK_APP');
  if (app === undefined) throw new ConfigError('reghook listen needs the project: --app <appId>');
  const appId = Number(app);
  if (!/^\d+$/.test(app) || !Number.isSafeInteger(appId) || appId < 1 || appId > 2_147_483_647) {
    throw new ConfigError(`--app "${app}" must be a project's appId, a whole number from 1 to 2147483647`);
  }
  const forwardTo = flag('REGHOOK_FORWARD_TO');
  if (forwardTo === undefined) throw new ConfigError('reghook listen needs where to forward: --forward-to http://localhost:3000/webhooks');
  return { url: url.replace(/\/+$/, ''), key, appId, forwardTo: httpUrl('--forward-to', forwardTo) };
}
