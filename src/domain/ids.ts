import { randomFillSync } from 'node:crypto';

// Crockford base32, as ULID uses: sortable as text, no ambiguous letters.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// Random bytes for 256 ids at a time: one call into the CSPRNG per 256 ids, not one each (the
// per-call cost was 3 % of the ingest path's CPU; crypto.randomUUID keeps a cache the same way).
const pool = Buffer.alloc(16 * 256);
let poolOffset = pool.length;

/**
 * A ULID-shaped id: 10 characters of millisecond time, then 16 of randomness. Ids made in a later
 * millisecond sort after earlier ones, which the event log's cursor pagination relies on.
 */
export function timeSortableId(nowMs: number): string {
  let time = '';
  let t = Math.floor(nowMs);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  let tail = '';
  for (let i = poolOffset; i < poolOffset + 16; i++) tail += ALPHABET[pool[i]! & 31]!;
  poolOffset += 16;
  return time + tail;
}

/**
 * The smallest event id of millisecond `ms`: every event created at `ms` or later sorts at or
 * after it, every earlier one before it (a proper prefix sorts first). Time filters on the log and
 * the development stream's "created since" are id ranges, so they use the log's (app_id, id) index.
 */
export function eventIdFloor(ms: number): string {
  return `evt_${timeSortableId(Math.max(0, ms)).slice(0, 10)}`;
}

/** `evt_<time-sortable id>`: the webhook-id of every attempt of one event. */
export function newEventId(nowMs: number): string {
  return `evt_${timeSortableId(nowMs)}`;
}

/** The largest appId, flowId or siteId (a PostgreSQL integer). */
export const MAX_ID = 2_147_483_647;

/** The millisecond an id made by timeSortableId (or newEventId) carries, or null when it is not one. */
export function idTime(id: string): number | null {
  const match = /^(?:evt_)?([0-9A-HJKMNP-TV-Z]{10})[0-9A-HJKMNP-TV-Z]{16}$/.exec(id);
  if (!match) return null;
  let t = 0;
  for (const char of match[1]!) t = t * 32 + ALPHABET.indexOf(char);
  return t;
}
