/** Messages between the bench and its receiver child process. */
export interface ServerSpec {
  mode: 'ok' | 'flaky' | 'hang';
  /** For `flaky`: the share of requests answered 500. */
  failRate?: number;
  /** For `ok` and `flaky`: how long the answer takes after the request's body has arrived. */
  delayMs?: number;
}

export interface ReceiverStats {
  requests: number;
  distinct: number;
  oks: number;
  duplicates: number;
  failures: number;
  /** Requests held open by hanging servers now / at most since the last reset. */
  hanging: number;
  hangingMax: number;
  /** The same for servers that answer after `delayMs`. */
  delayed: number;
  delayedMax: number;
}

export interface Lookup {
  /** First arrival per id (0 = never arrived). */
  first: Float64Array;
  /** First 200 answer per id (0 = never answered 200). */
  okAt: Float64Array;
  count: Int32Array;
}

export type ReceiverCommand =
  | { seq: number; cmd: 'listen'; specs: ServerSpec[] }
  | { seq: number; cmd: 'stats' }
  | { seq: number; cmd: 'lookup'; ids: string[] }
  | { seq: number; cmd: 'reset' }
  | { seq: number; cmd: 'close' }
  | { seq: number; cmd: 'exit' };

export interface ReceiverReply {
  seq: number;
  error?: string;
  ports?: number[];
  stats?: ReceiverStats;
  lookup?: Lookup;
}
