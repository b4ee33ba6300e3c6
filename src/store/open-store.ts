import type { DatabaseTarget } from '../config.js';
import { ConfigError } from '../errors.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Opens the configured store and applies its migrations. */
export async function openStore(target: DatabaseTarget): Promise<Store> {
  if (target.kind === 'sqlite') return new SqliteStore(target.path);
  throw new ConfigError('REGHOOK_DATABASE_URL: the PostgreSQL store is not available in this version yet; use sqlite:<path>');
}
