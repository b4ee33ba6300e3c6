/**
 * The SQLite store on a thread of its own, for a machine with a second core: better-sqlite3 is
 * synchronous, so on the main thread every statement and every commit's fsync (synchronous=FULL)
 * stops the HTTP server and the deliveries in flight. Here the main thread keeps HTTP in and out;
 * the store thread (store-thread.ts) runs the SqliteStore and its group commit unchanged. The calls
 * one turn of the event loop makes cross as one message, and their answers come back batched too.
 * The behaviour is the SqliteStore's, call for call: the SQLite contract suite runs against both.
 */
import { Worker } from 'node:worker_threads';
import type { Store } from '../store.js';
import { fromWire, type Call, type FromStoreThread } from './thread-protocol.js';

/** Store methods that cross to the thread as they are (arguments and answers are plain data). */
const FORWARDED = [
  'migrate', 'isReady', 'getSetting', 'putSettingIfAbsent', 'putSetting', 'createProject', 'getProject', 'listProjects',
  'listProjectOverviews', 'listFailingProjects', 'getEndpointHealth', 'addApiKey', 'listApiKeys', 'findApiKeyByHash',
  'revokeApiKey', 'addPortalLink', 'consumePortalLink', 'deleteExpiredPortalLinks', 'getEndpoint', 'putEndpoint',
  'rotateSecret', 'recordRegistration', 'recordPurchase', 'listEvents', 'getEvent', 'replayEvents', 'listEventsAfter',
  'recoverFailed', 'claimDue', 'recordAttempts', 'claimOperatorEvents', 'recordOperatorAttempts', 'listOperatorEvents',
  'nextDueAt', 'openManualAttempt', 'attemptStats', 'appendAudit', 'listAudit', 'eraseSubscriber', 'sweepRetention',
  'listUnhashedEvents', 'setSubscriberHashes', 'listUnhashedRegistrations', 'setRegistrationSubscriberHashes', 'queueStats',
  'windowCounts', 'chartBuckets', 'recordTestAttempt',
] as const satisfies readonly (keyof Store)[];

/** What the main thread answers itself; every other Store member must be in FORWARDED. */
type Local = 'kind' | 'close' | 'onWorkAvailable' | 'onEventsCreated' | 'resealSecrets';
type Unlisted = Exclude<keyof Store, Local | (typeof FORWARDED)[number]>;
// A Store method added without being forwarded fails to compile here.
const everyMethodForwarded: [Unlisted] extends [never] ? true : Unlisted = true;
void everyMethodForwarded;

export interface ThreadedStoreOptions {
  /** The thread's script; by default the compiled store-thread.js next to this file. */
  workerUrl?: URL;
}

/** A Store whose SQLite work runs on its own thread; also the disk-full drill of SqliteStore. */
export type ThreadedSqliteStore = Store & { limitPages(pages: number | null): Promise<number> };

/** Opens `file` on a new store thread; rejects with the open's error (a read-only file…) as SqliteStore would. */
export async function openThreadedSqliteStore(file: string, options: ThreadedStoreOptions = {}): Promise<ThreadedSqliteStore> {
  const worker = new Worker(options.workerUrl ?? new URL('./store-thread.js', import.meta.url), { workerData: { file } });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  const workListeners = new Set<() => void>();
  const eventListeners = new Set<(appIds: readonly number[] | null) => void>();
  let nextId = 1;
  let stopped: Error | null = null;

  const opened = new Promise<void>((resolve, reject) => {
    const receive = (message: FromStoreThread): void => {
      switch (message.kind) {
        case 'open':
          return resolve();
        case 'failed':
          return reject(fromWire(message.error));
        case 'work':
          for (const listener of workListeners) listener();
          return;
        case 'events':
          for (const listener of eventListeners) listener(message.appIds);
          return;
        case 'answer': {
          const call = pending.get(message.id);
          if (call === undefined) return;
          pending.delete(message.id);
          if (pending.size === 0) worker.unref();
          if (message.ok) call.resolve(message.value);
          else call.reject(fromWire(message.error));
        }
      }
    };
    worker.on('message', (messages: FromStoreThread[]) => {
      for (const message of messages) receive(message);
    });
    const end = (error: Error) => {
      stopped ??= error;
      reject(stopped);
      for (const call of pending.values()) call.reject(stopped);
      pending.clear();
    };
    worker.on('error', (error) => end(new Error(`the SQLite store thread failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => end(new Error(`the SQLite store thread stopped (exit code ${code})`)));
  });
  await opened;
  worker.unref();

  // The calls of this turn, posted together at its end (setImmediate: after the I/O callbacks of
  // the turn, so a burst of requests costs one message, and no later than an unbatched post would
  // have been handled by the thread).
  let outbox: Call[] = [];
  const send = (calls: Call[]): void => {
    try {
      worker.postMessage(calls);
    } catch (error) {
      // An argument structured clone refuses: only its own call fails.
      if (calls.length > 1) for (const one of calls) send([one]);
      else {
        const refused = pending.get(calls[0]!.id);
        pending.delete(calls[0]!.id);
        if (pending.size === 0) worker.unref();
        refused?.reject(error);
      }
    }
  };
  const flush = (): void => {
    const calls = outbox;
    outbox = [];
    if (stopped === null) send(calls);
  };
  const call = (method: string, args: unknown[]): Promise<unknown> => {
    if (stopped !== null) return Promise.reject(stopped);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject });
      if (outbox.push({ id, method, args }) === 1) setImmediate(flush);
    });
  };

  const local = {
    kind: 'sqlite' as const,
    onWorkAvailable(listener: () => void): () => void {
      workListeners.add(listener);
      return () => workListeners.delete(listener);
    },
    onEventsCreated(listener: (appIds: readonly number[] | null) => void): () => void {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    resealSecrets(): Promise<number> {
      // A function cannot cross threads; `reghook rekey` opens the file directly (openStore without a thread).
      return Promise.reject(new Error('resealSecrets runs on a SqliteStore opened without a thread'));
    },
    limitPages(pages: number | null): Promise<number> {
      return call('limitPages', [pages]) as Promise<number>;
    },
    async isReady(): Promise<boolean> {
      if (stopped !== null) return false;
      return (await call('isReady', [])) as boolean;
    },
    async close(): Promise<void> {
      if (stopped !== null) return;
      await call('close', []);
      stopped = new Error('the store is closed');
      await worker.terminate();
    },
  };
  const forwarded = Object.fromEntries(FORWARDED.filter((m) => m !== 'isReady').map((method) => [method, (...args: unknown[]) => call(method, args)]));
  return Object.assign(forwarded, local) as unknown as ThreadedSqliteStore;
}
