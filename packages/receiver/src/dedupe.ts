/**
 * Deduplication by `webhook-id`: delivery is at least once, so the same event may arrive again
 * (a retry after a lost 200, a manual redelivery). Back the interface with Redis, SQL, … to share
 * it between processes; createDeduper is the in-memory default.
 */

/** Remembers which `webhook-id`s were processed. */
export interface WebhookDeduper {
  /** Atomically: true if `id` is already marked (a duplicate); otherwise marks it and returns false. */
  checkAndMark(id: string): boolean | Promise<boolean>;
  /** Forgets `id`, so a delivery whose processing failed is processed when it is retried. */
  unmark?(id: string): void | Promise<void>;
}

export interface DeduperOptions {
  /** Most ids remembered; past it the least recently seen is forgotten. Default 10 000. */
  max?: number;
  /** How long an id is remembered after it was first marked, ms. Default 24 h. */
  ttlMs?: number;
  /** The clock, epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_DEDUPE_MAX = 10_000;
export const DEFAULT_DEDUPE_TTL_MS = 24 * 60 * 60 * 1000;

export interface InMemoryDeduper extends WebhookDeduper {
  checkAndMark(id: string): boolean;
  unmark(id: string): void;
  /** Ids currently remembered (expired ones included until they are looked up or evicted). */
  readonly size: number;
}

/** An in-memory LRU of `webhook-id`s with a time to live; per process, lost on restart. */
export function createDeduper(options: DeduperOptions = {}): InMemoryDeduper {
  const max = options.max ?? DEFAULT_DEDUPE_MAX;
  const ttlMs = options.ttlMs ?? DEFAULT_DEDUPE_TTL_MS;
  const now = options.now ?? Date.now;
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`max must be an integer >= 1, got ${max}`);
  if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, got ${ttlMs}`);

  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently seen first.
  const expiresAt = new Map<string, number>();
  return {
    checkAndMark(id) {
      const t = now();
      const expiry = expiresAt.get(id);
      expiresAt.delete(id);
      if (expiry !== undefined && t < expiry) {
        expiresAt.set(id, expiry); // the TTL counts from the first mark; a hit only refreshes recency
        return true;
      }
      expiresAt.set(id, t + ttlMs);
      for (const oldest of expiresAt.keys()) {
        if (expiresAt.size <= max) break;
        expiresAt.delete(oldest);
      }
      return false;
    },
    unmark(id) {
      expiresAt.delete(id);
    },
    get size() {
      return expiresAt.size;
    },
  };
}
