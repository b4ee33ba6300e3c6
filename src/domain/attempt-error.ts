/** How an attempt's failure is named in the delivery log, the API, the metrics and the dashboard. */

/** Why an attempt failed without an acceptable answer: one list for the sender, the store, the metrics and the views. */
export const ATTEMPT_ERROR_KINDS = [
  'timeout',
  'connection_refused',
  'connection_reset',
  'dns_error',
  'host_unreachable',
  'tls_error',
  'invalid_url',
  'destination_refused',
  'network_error',
  'internal_error',
] as const;
export type AttemptErrorKind = (typeof ATTEMPT_ERROR_KINDS)[number];

export interface AttemptResult {
  success: boolean;
  statusCode: number | null;
  errorKind: AttemptErrorKind | null;
}

/** Its error kind (`timeout`, `connection_refused`…), else `http_<status>` for an answer other than 200; null for a success. */
export function attemptErrorLabel(result: AttemptResult): string | null {
  if (result.errorKind !== null) return result.errorKind;
  return result.success ? null : `http_${result.statusCode}`;
}
