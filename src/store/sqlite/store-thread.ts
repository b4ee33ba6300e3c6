/**
 * The SQLite store's own thread (see threaded-store.ts): it opens the file, answers each call the
 * main thread posts with the SqliteStore method of that name, and tells the main thread when work
 * became available or events were created. Everything SQLite does, fsync included, happens here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite-store.js';
import { toWire, type Call, type FromStoreThread } from './thread-protocol.js';

const port = parentPort!;
let outbox: FromStoreThread[] = [];
const flush = () => {
  const messages = outbox;
  outbox = [];
  port.postMessage(messages);
};
/** Queued for the end of this turn: every answer and notice of one turn crosses as one message. */
const post = (message: FromStoreThread) => {
  if (outbox.push(message) === 1) setImmediate(flush);
};

let store: SqliteStore;
try {
  store = new SqliteStore((workerData as { file: string }).file);
} catch (error) {
  // Posted now, not at the end of the turn: the thread ends here.
  port.postMessage([{ kind: 'failed', error: toWire(error) }] satisfies FromStoreThread[]);
  process.exit(0);
}
store.onWorkAvailable(() => post({ kind: 'work' }));
store.onEventsCreated((appIds) => post({ kind: 'events', appIds }));

const methods = store as unknown as Record<string, (...args: unknown[]) => unknown>;
port.on('message', (calls: Call[]) => {
  for (const call of calls) {
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
  }
});
post({ kind: 'open' });
