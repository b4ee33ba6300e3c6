/**
 * The `reghook` command: `serve` (API + dashboard + dispatcher), `worker` (dispatcher only),
 * `migrate`. Flags mirror the REGHOOK_* variables (`--port 0` = REGHOOK_PORT=0).
 */
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';
import { openStore } from './store/open-store.js';
import { startService } from './service.js';

const USAGE = `usage: reghook <serve|worker|migrate> [--option value …]
  Options mirror the environment: --database-url, --host, --port, --retry-interval,
  --max-attempts, --delivery-timeout, --allow-private-networks, --retention, --dispatch, …`;

export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    process.exitCode = command === undefined ? 2 : 0;
    return;
  }
  try {
    const config = loadConfig(undefined, rest);
    if (command === 'migrate') {
      const store = await openStore(config.database);
      await store.migrate();
      await store.close();
      process.stdout.write('reghook: migrations applied\n');
      return;
    }
    if (command !== 'serve' && command !== 'worker') {
      process.stderr.write(`reghook: unknown command "${command}"\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    const service = await startService(config, { mode: command });
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) process.exit(1);
      process.stdout.write(`reghook: ${signal} received, draining\n`);
      service.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`reghook: shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  } catch (error) {
    // A bad configuration value is one clear line naming the variable.
    const message = error instanceof ConfigError ? error.message : String((error as Error)?.stack ?? error);
    process.stderr.write(`reghook: ${message}\n`);
    process.exitCode = 1;
  }
}
