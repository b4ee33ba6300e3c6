import type { EventStatus } from '../domain/retry-policy.js';
import type { EventLogItem, EventSummary } from './store.js';

/** An `events` row as both stores read it (times as epoch milliseconds). */
export interface EventRow {
  id: string;
  app_id: number;
  client_uuid: string;
  body: string | null;
  status: EventStatus;
  attempt_count: number;
  scheduled_attempts: number;
  next_attempt_at: number | null;
  lease_token: number | null;
  created_at: number;
  delivered_at: number | null;
}

export const toEventSummary = (r: EventRow): EventSummary => ({
  eventId: r.id,
  appId: r.app_id,
  clientUuid: r.client_uuid,
  status: r.status,
  attemptCount: r.attempt_count,
  createdAt: r.created_at,
  // While leased, next_attempt_at is the lease end, not a scheduled time.
  nextAttemptAt: r.status === 'pending' && r.lease_token === null ? r.next_attempt_at : null,
  deliveredAt: r.delivered_at,
});

/** A delivery-log row: the summary and the subscriber fields its page shows (masked there), read from the payload. */
export const toEventLogItem = (r: EventRow): EventLogItem => ({ ...toEventSummary(r), subscriber: subscriberOf(r.body) });

function subscriberOf(body: string | null): EventLogItem['subscriber'] {
  if (body === null) return null;
  try {
    const p = JSON.parse(body) as { subscriberId?: unknown; subscriberName?: unknown };
    return { id: typeof p.subscriberId === 'string' ? p.subscriberId : null, name: typeof p.subscriberName === 'string' ? p.subscriberName : null };
  } catch {
    return null;
  }
}
