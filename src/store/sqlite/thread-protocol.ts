/** The messages between the main thread and the SQLite store's thread (threaded-store.ts). */

/**
 * A Store method call: its name and its (structured-clonable) arguments. Each side posts what one
 * turn of its event loop produced as one message (an array): the calls of a burst of requests
 * cross together, and the answers of one group commit come back together.
 */
export interface Call {
  id: number;
  method: string;
  args: unknown[];
}

/** An error as it crosses threads: structured clone keeps an Error's message, not its `code`. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type FromStoreThread =
  | { kind: 'open' }
  | { kind: 'failed'; error: WireError }
  | { kind: 'answer'; id: number; ok: true; value: unknown }
  | { kind: 'answer'; id: number; ok: false; error: WireError }
  | { kind: 'work' }
  | { kind: 'events'; appIds: readonly number[] | null };

export function toWire(thrown: unknown): WireError {
  if (!(thrown instanceof Error)) return { name: 'Error', message: String(thrown) };
  const code = (thrown as { code?: unknown }).code;
  return { name: thrown.name, message: thrown.message, ...(typeof code === 'string' ? { code } : {}), ...(thrown.stack ? { stack: thrown.stack } : {}) };
}

/** The error again, on this side: same name, message and code (errors.ts decides by code). */
export function fromWire(wire: WireError): Error {
  const error = new Error(wire.message) as Error & { code?: string };
  error.name = wire.name;
  if (wire.code !== undefined) error.code = wire.code;
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}
