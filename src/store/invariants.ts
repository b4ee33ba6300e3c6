/**
 * Invariants the schema or the ingest decision guarantee, checked where a store relies on them.
 * A broken one is a bug (a plain Error, answered 500), never a caller's mistake.
 */
import type { Decision } from '../domain/ingest.js';

/** A pending event's body: the CHECK events_pending_has_body guarantees one (migration 0002). */
export function pendingBody(e: { id: string; body: string | null }): string {
  if (e.body === null) throw new Error(`event ${e.id} is pending without a body, which the schema forbids`);
  return e.body;
}

/** A recorded report decided again: a repeat or a conflict, never something to record (that would be a bug). */
export function asRepeat<A>(decision: Decision<A>, what: 'registration' | 'purchase'): Exclude<Decision<A>, { kind: 'record' }> {
  if (decision.kind === 'record') throw new Error(`a recorded ${what} is never recorded again`);
  return decision;
}
