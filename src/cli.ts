/**
 * The `reghook` command: `serve` (API + dashboard + dispatcher), `worker` (dispatcher only),
 * `migrate`. Flags mirror the REGHOOK_* variables (`--port 0` = REGHOOK_PORT=0).
 */
import type { Logger } from 'pino';
import { loadConfig } from './config.js';
import { ConfigError, StartupError, toError } from './errors.js';
import { createLogger } from './logger.js';
import type { Service } from './service.js';

const USAGE = `usage: reghook <serve|worker|migrate> [--option value …]
  Options mirror the environment: --database-url, --host, --port, --retry-interval,
  --max-attempts, --delivery-timeout, --allow-private-networks, --retention, --dispatch, …`;

/**
 * What the operator reads when the start fails: one line for what is outside the process (a bad
 * setting, the database, a port in use, a file it may not read), a stack only for the unexpected.
 */
function failureText(thrown: unknown): string {
  const error = toError(thrown);
  if (error instanceof ConfigError || error instanceof StartupError) return error.message;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof code === 'string' && typeof syscall === 'string') return error.message;
  return String(error.stack ?? error.message);
}

export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    process.exitCode = command === undefined ? 2 : 0;
    return;
  }
  if (command !== 'serve' && command !== 'worker' && command !== 'migrate') {
    process.stderr.write(`reghook: unknown command "${command}"\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    const config = loadConfig(undefined, rest);
    if (command === 'migrate') {
      const { openStore } = await import('./store/open-store.js');
      const store = await openStore(config.database);
      await store.migrate();
      await store.close();
      process.stdout.write('reghook: migrations applied\n');
      return;
    }
    await run(command, config, createLogger(config.logLevel));
  } catch (error) {
    process.stderr.write(`reghook: ${failureText(error)}\n`);
    process.exitCode = 1;
  }
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
