import type { Logger } from 'pino';
import type { DatabaseTarget } from '../config.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** Where a shared database's connection errors are reported (they are survived, not thrown). */
  logger?: Logger;
}

/** Opens the configured store and applies its migrations. */
export async function openStore(target: DatabaseTarget, options: OpenStoreOptions = {}): Promise<Store> {
  if (target.kind === 'sqlite') return new SqliteStore(target.path);
  return PostgresStore.open(target.url, options.logger ? { logger: options.logger } : {});
}
