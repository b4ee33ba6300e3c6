/**
 * Operator notifications (SPEC section 5, "Operator notifications"): what the operator's own server
 * is told, as Standard Webhooks signed POSTs of the envelope `{ type, timestamp, data }`. The body
 * is made once, when the notification is recorded, and sent byte for byte on every attempt. It
 * carries no personal data: project ids, the endpoint URL, event ids, times, codes.
 */
import { attemptErrorLabel } from './attempt-error.js';
import type { AttemptErrorKind } from './attempt-error.js';
import { timeSortableId } from './ids.js';

export const OPERATOR_EVENT_TYPES = ['endpoint.failing', 'endpoint.recovered', 'event.failed'] as const;
export type OperatorEventType = (typeof OPERATOR_EVENT_TYPES)[number];

export const OPERATOR_EVENT_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type OperatorEventStatus = (typeof OPERATOR_EVENT_STATUSES)[number];

/** The attempt that caused a notification, as the store recorded it. */
export interface CausingAttempt {
  startedAt: number;
  success: boolean;
  statusCode: number | null;
  errorKind: AttemptErrorKind | null;
}

/** A notification ready to store: its id (the webhook-id of every attempt), type and exact body. */
export interface NewOperatorEvent {
  id: string;
  type: OperatorEventType;
  body: string;
  createdAt: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `oev_<time-sortable id>`: an operator notification's id and webhook-id. */
export function newOperatorEventId(nowMs: number): string {
  return `oev_${timeSortableId(nowMs)}`;
}

function lastAttempt(a: CausingAttempt) {
  return { at: iso(a.startedAt), statusCode: a.statusCode, error: attemptErrorLabel(a) };
}

function envelope(type: OperatorEventType, at: number, data: Record<string, unknown>): NewOperatorEvent {
  return { id: newOperatorEventId(at), type, body: JSON.stringify({ type, timestamp: iso(at), data }), createdAt: at };
}

export function endpointFailing(
  at: number,
  e: { appId: number; url: string; consecutiveFailures: number; failingSince: number; attempt: CausingAttempt },
): NewOperatorEvent {
  return envelope('endpoint.failing', at, {
    appId: e.appId,
    url: e.url,
    consecutiveFailures: e.consecutiveFailures,
    failingSince: iso(e.failingSince),
    lastAttempt: lastAttempt(e.attempt),
  });
}

export function endpointRecovered(at: number, e: { appId: number; url: string; failingSince: number; recoveredAt: number }): NewOperatorEvent {
  return envelope('endpoint.recovered', at, { appId: e.appId, url: e.url, failingSince: iso(e.failingSince), recoveredAt: iso(e.recoveredAt) });
}

export function eventFailed(at: number, e: { appId: number; eventId: string; attempts: number; attempt: CausingAttempt }): NewOperatorEvent {
  return envelope('event.failed', at, { appId: e.appId, eventId: e.eventId, attempts: e.attempts, lastAttempt: lastAttempt(e.attempt) });
}
