/** The Store contract on SQLite: a fresh database file per test. */
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { storeContract } from './contract.js';
import { sqliteFileFactory } from './sqlite-file.js';

storeContract('sqlite', sqliteFileFactory((file) => new SqliteStore(file)));
