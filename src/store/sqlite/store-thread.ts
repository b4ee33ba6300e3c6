/**
 * The SQLite store's own thread (see threaded-store.ts): it opens the file, answers each call the
 * main thread posts with the SqliteStore method of that name, and tells the main thread when work
 * became available or events were created. Everything SQLite does, fsync included, happens here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite-store.js';
import { toWire, type Call, type FromStoreThread } from './thread-protocol.js';

const port = parentPort!;
const post = (message: FromStoreThread) => port.postMessage(message);

let store: SqliteStore;
try {
  store = new SqliteStore((workerData as { file: string }).file);
} catch (error) {
  post({ kind: 'failed', error: toWire(error) });
  process.exit(0);
}
store.onWorkAvailable(() => post({ kind: 'work' }));
store.onEventsCreated((appIds) => post({ kind: 'events', appIds }));

const methods = store as unknown as Record<string, (...args: unknown[]) => unknown>;
port.on('message', (call: Call) => {
  let result: Promise<unknown>;
  try {
    result = Promise.resolve(methods[call.method]!(...call.args));
  } catch (error) {
    result = Promise.reject(error);
  }
  result.then(
    (value) => post({ kind: 'answer', id: call.id, ok: true, value }),
    (error: unknown) => post({ kind: 'answer', id: call.id, ok: false, error: toWire(error) }),
  );
});
post({ kind: 'open' });
