import type { PurchaseResult, RegistrationResult } from './store.js';

/**
 * "Work may be due now", said by the store itself once the write that made it so has committed
 * (an event created pending, an endpoint enabled, failed events recovered), so no caller has to
 * remember to wake the dispatcher. In-process listeners; the PostgreSQL store also tells other
 * processes (NOTIFY).
 */
export class WorkSignal {
  private readonly listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  announce(): void {
    for (const listener of this.listeners) listener();
  }
}

/** A write's result, and whether it may have made work due now: announce it once the write has committed. */
export interface Recorded<R> {
  result: R;
  announce: boolean;
}

/** "Events of these projects may have been created" (null: of any project), said once the write has committed. */
export class EventsSignal {
  private readonly listeners = new Set<(appIds: readonly number[] | null) => void>();

  subscribe(listener: (appIds: readonly number[] | null) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  announce(appIds: readonly number[] | null): void {
    for (const listener of this.listeners) listener(appIds);
  }
}

/** Whether a report's result carries an event it has just created (a repeat or a refusal creates none). */
export function createdAnEvent(result: RegistrationResult | PurchaseResult): boolean {
  if (result.kind !== 'created') return false;
  return 'triggered' in result.answer ? result.answer.triggered : result.answer.eventId !== null;
}
