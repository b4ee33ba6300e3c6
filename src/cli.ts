/**
 * The `reghook` command: `serve` (API + dashboard + dispatcher), `worker` (dispatcher only),
 * `migrate`, the operator's commands, `listen` (a developer's machine gets its project's
 * webhooks), `--help` (also per command) and `--version`. Flags mirror the REGHOOK_* variables
 * (`--port 0` = REGHOOK_PORT=0).
 */
import type { Logger } from 'pino';
import { FILE_VARIABLES, loadConfig, loadListenConfig, VARIABLES, type DatabaseTarget } from './config.js';
import { ConfigError, StartupError, toError } from './errors.js';
import { createLogger } from './logger.js';
import { packageVersion } from './package-info.js';
import type { Service } from './service.js';

const COMMANDS = {
  serve: 'The API, dashboard and dispatcher in one process (npm start)',
  worker: 'The dispatcher only: delivers and retries, serves no HTTP (PostgreSQL scale-out)',
  migrate: 'Applies the database migrations and exits (every process also migrates at start); --status lists them, applying nothing',
  backup: 'backup <file>: a consistent copy of the running SQLite database (PostgreSQL: pg_dump)',
  rekey: 'Re-seals every signing secret under the first key of REGHOOK_SECRET_KEY=new,old',
  'admin-token': 'admin-token rotate: replaces the generated admin token and prints the new one, once',
  listen: "Forwards a project's webhooks to a local URL, as they happen, for development (reads the service's event stream)",
} as const;
type Command = keyof typeof COMMANDS;

/** What a command takes before its options. */
const SYNOPSIS: Partial<Record<Command, string>> = {
  migrate: 'migrate [--status]',
  backup: 'backup <file>',
  'admin-token': 'admin-token rotate',
  listen: 'listen --key <project key> --app <appId> --forward-to <local url> [--url <reghook url>]',
};

/** `reghook listen --help`: its own options (it is a client of a service, not one). */
const LISTEN_USAGE = `usage: reghook ${SYNOPSIS.listen}

${COMMANDS.listen}.

Each webhook of the project (every new event, and every test webhook sent from the dashboard or
POST …/webhook/test) is POSTed to --forward-to with exactly the headers and body a delivery has,
signed with the project's secret, so your handler verifies it as in production. One line is
printed per forward: time, webhook-id, the status your handler answered (or the error), duration.

Options:
  --url <base URL>        the reghook service, default: http://127.0.0.1:8080
  --key <project key>     the project's API key (rhk_…); or set REGHOOK_LISTEN_KEY instead,
                          which other users of the machine cannot read in the process list
  --app <appId>           the project
  --forward-to <URL>      where each webhook is POSTed, e.g. http://localhost:3000/webhooks

The project needs an endpoint (its secret signs what is forwarded); it may stay disabled.
A lost connection is retried, resuming after the last webhook forwarded. Ctrl-C stops.
`;

const isCommand = (name: string): name is Command => Object.hasOwn(COMMANDS, name);
const isHelp = (arg: string) => arg === '--help' || arg === '-h';
const flagOf = (name: string) => `--${name.slice('REGHOOK_'.length).toLowerCase().replace(/_/g, '-')}`;

const USAGE = `usage: reghook <command> [--option value …]

Commands:
${Object.entries(COMMANDS)
  .map(([name, text]) => `  ${name.padEnd(13)}${text}`)
  .join('\n')}

  reghook <command> --help   the command's options
  reghook --version          the version

Every option is also an environment variable: --retry-interval 250ms is REGHOOK_RETRY_INTERVAL=250ms.
`;

/** One command's help: what it does and every option, with its variable and default. */
function commandUsage(command: Command): string {
  if (command === 'listen') return LISTEN_USAGE;
  const options = VARIABLES.map((v) => `  ${flagOf(v.name)} <value>   ${v.name}, default: ${v.default}\n      ${v.meaning}`);
  const files = FILE_VARIABLES.map((name) => `${name}_FILE`).join(', ');
  return `usage: reghook ${SYNOPSIS[command] ?? command} [--option value …]

${COMMANDS[command]}.

Options (flags win over the environment):
${options.join('\n')}

Secrets may be read from files: ${files} (one trailing newline is removed).
`;
}

/** The one line for a listener that could not start (a port in use, a port it may not bind, a foreign address). */
function listenFailure(error: Error): string | undefined {
  const { code, syscall, address, port } = error as { code?: unknown; syscall?: unknown; address?: unknown; port?: unknown };
  if (syscall !== 'listen') return undefined;
  if (code === 'EADDRINUSE') return `port ${String(port)} is in use on ${String(address)}; set REGHOOK_PORT (or --port) to another port, or stop what listens there`;
  if (code === 'EACCES') return `port ${String(port)} on ${String(address)} needs privileges this process lacks; set REGHOOK_PORT to 1024 or above`;
  if (code === 'EADDRNOTAVAIL') return `${String(address)} is not an address of this machine; set REGHOOK_HOST`;
  return undefined;
}

/**
 * What the operator reads when the start fails: one line for what is outside the process (a bad
 * setting, the database, a port in use, a file it may not read), a stack only for the unexpected.
 */
function failureText(thrown: unknown): string {
  const error = toError(thrown);
  if (error instanceof ConfigError || error instanceof StartupError) return error.message;
  const listen = listenFailure(error);
  if (listen !== undefined) return listen;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof code === 'string' && typeof syscall === 'string') return error.message;
  return String(error.stack ?? error.message);
}

export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE);
    process.exitCode = 2;
    return;
  }
  if (isHelp(command) || command === 'help') {
    const topic = rest[0];
    process.stdout.write(topic !== undefined && isCommand(topic) ? commandUsage(topic) : USAGE);
    return;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${packageVersion}\n`);
    return;
  }
  if (!isCommand(command)) {
    process.stderr.write(`reghook: unknown command "${command}"\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (rest.some(isHelp)) {
    process.stdout.write(commandUsage(command));
    return;
  }
  try {
    if (command === 'serve' || command === 'worker') {
      const config = loadConfig(undefined, rest);
      await run(command, config, createLogger(config.logLevel));
    } else if (command === 'listen') {
      process.exitCode = await runListen(rest);
    } else {
      process.exitCode = await operatorCommand(command, rest);
    }
  } catch (error) {
    process.stderr.write(`reghook: ${failureText(error)}\n`);
    process.exitCode = 1;
  }
}

/** The leading argument of `backup <file>` or `admin-token rotate`, and the options after it. */
function positional(rest: readonly string[]): [string | undefined, string[]] {
  const [first, ...others] = rest;
  return first !== undefined && !first.startsWith('--') ? [first, others] : [undefined, [...rest]];
}

/** Commands an operator runs beside the service: each does one thing and answers with its exit code. */
async function operatorCommand(command: Exclude<Command, 'serve' | 'worker' | 'listen'>, rest: readonly string[]): Promise<number> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (command === 'migrate') {
    const status = rest.includes('--status');
    const config = loadConfig(undefined, rest.filter((arg) => arg !== '--status'));
    if (status) return printMigrationStatus(config.database, say);
    const { openStore } = await import('./store/open-store.js');
    const store = await openStore(config.database);
    await store.close();
    say('reghook: migrations applied');
    return 0;
  }
  if (command === 'backup') {
    const [file, options] = positional(rest);
    if (file === undefined) throw new ConfigError('backup needs the file to write: reghook backup <file>');
    const config = loadConfig(undefined, options);
    if (config.database.kind !== 'sqlite') {
      throw new ConfigError('reghook backup copies a SQLite database; back up PostgreSQL with pg_dump (docs/operations.md)');
    }
    const { backupSqlite } = await import('./store/sqlite/backup.js');
    const { pages, events } = await backupSqlite(config.database.path, file);
    say(`reghook: backed up ${config.database.path} to ${file} (${pages} pages, ${events} events)`);
    say('reghook: back up the secret key too, apart from it (REGHOOK_SECRET_KEY or secret.key): without it the signing secrets in the copy cannot be opened');
    return 0;
  }
  if (command === 'rekey') {
    const config = loadConfig(undefined, rest);
    const [{ readSecretKeys }, { createSecretBox }, { rekey }, { openStore }] = await Promise.all([
      import('./secrets/key-file.js'),
      import('./secrets/secret-box.js'),
      import('./operations/secret-key.js'),
      import('./store/open-store.js'),
    ]);
    const keys = readSecretKeys(config.secretKey, config.dataDir);
    const store = await openStore(config.database);
    try {
      const { endpoints } = await rekey(store, createSecretBox(keys));
      say(`reghook: re-sealed the signing secrets of ${endpoints} endpoint(s) under the first key of REGHOOK_SECRET_KEY`);
      if (keys.length > 1) say('reghook: the other keys are no longer needed: restart every process with the first key alone');
    } finally {
      await store.close();
    }
    return 0;
  }
  const [action, options] = positional(rest);
  if (action !== 'rotate') throw new ConfigError('admin-token takes one action: reghook admin-token rotate');
  const config = loadConfig(undefined, options);
  const [{ rotateAdminToken, ADMIN_TOKEN_RECHECK_MS }, { openStore }] = await Promise.all([
    import('./operations/admin-token.js'),
    import('./store/open-store.js'),
  ]);
  const store = await openStore(config.database);
  try {
    const token = await rotateAdminToken(store, config.adminToken);
    say(`reghook: the new admin token (shown once, store it now): ${token}`);
    say(`reghook: running processes refuse the old one within ${ADMIN_TOKEN_RECHECK_MS / 1000} s; its dashboard sessions end`);
  } finally {
    await store.close();
  }
  return 0;
}

/** `reghook listen` until SIGINT or SIGTERM (exit 0), or until the service refuses for good (exit 1). */
async function runListen(rest: readonly string[]): Promise<number> {
  const config = loadListenConfig(undefined, rest);
  const { listen } = await import('./listen.js');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await listen(config, {
      print: (line) => process.stdout.write(`${line}\n`),
      say: (line) => process.stderr.write(`${line}\n`),
      signal: stop.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `migrate --status`: one line per migration; exit 0 when the database is up to date, 1 otherwise. */
async function printMigrationStatus(target: DatabaseTarget, say: (line: string) => void): Promise<number> {
  const { migrationStatus } = await import('./store/migration-status.js');
  const states = await migrationStatus(target);
  for (const m of states) {
    const when = m.appliedAt === null ? '' : ` ${new Date(m.appliedAt).toISOString()}`;
    const state = m.state === 'unknown' ? 'applied by a newer reghook' : m.state;
    say(`${String(m.version).padStart(4, '0')} ${m.name.padEnd(32)} ${state}${when}`);
  }
  const pending = states.filter((m) => m.state === 'pending').length;
  const unknown = states.filter((m) => m.state === 'unknown').length;
  if (unknown > 0) {
    say(`reghook: the database was migrated by a newer reghook (${unknown} migration(s) this release does not know); this release refuses to start on it`);
    return 1;
  }
  say(pending === 0 ? 'reghook: up to date' : `reghook: ${pending} migration(s) pending: reghook migrate (or any start) applies them`);
  return pending === 0 ? 0 : 1;
}

/**
 * Starts serve or worker with SIGTERM/SIGINT handled from the first moment: a signal while
 * starting (waiting for the database included) ends the start and exits 0; once started, it
 * drains, then exits 0. A second signal exits at once (1).
 */
async function run(mode: 'serve' | 'worker', config: ReturnType<typeof loadConfig>, logger: Logger): Promise<void> {
  const starting = new AbortController();
  let service: Service | null = null;
  let signals = 0;
  const exit = (code: number) => {
    logger.flush();
    process.exit(code);
  };
  const drain = (started: Service) =>
    started.stop().then(
      () => exit(0),
      (error: unknown) => {
        process.stderr.write(`reghook: shutdown failed: ${failureText(error)}\n`);
        exit(1);
      },
    );
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) exit(1);
    if (service === null) {
      process.stdout.write(`reghook: ${signal} received while starting, stopping\n`);
      starting.abort(new Error(`${signal} received`));
      return;
    }
    process.stdout.write(`reghook: ${signal} received, draining\n`);
    void drain(service);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  logger.debug({ mode }, 'starting; SIGTERM and SIGINT are handled');

  try {
    // Loaded after the handlers are in place: loading the service's modules is part of starting.
    const { startService } = await import('./service.js');
    service = await startService(config, { mode, logger, signal: starting.signal });
  } catch (error) {
    // startService closed what it had opened; a signal asked for this, so it is a clean exit.
    if (starting.signal.aborted) exit(0);
    throw error;
  }
}
