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
