/**
 * The development stream (SPEC section 5, `GET /v1/projects/{appId}/events/stream`): the project's
 * new events and test webhooks, signed as deliveries are, for a developer's machine (`reghook listen`).
 */
import type { DevStream, StreamSink } from '../dispatch/dev-streams.js';
import { ReghookError } from '../errors.js';
import type { OperationDeps } from './deps.js';
import { requireProject } from './require-project.js';

/**
 * Checks that the project can be streamed: it exists, and it has an endpoint, whose secret signs
 * every message (enabled or not: a developer may keep the real endpoint off while listening).
 * Without one there is nothing to sign with: REGHOOK_ENDPOINT_MISSING (409).
 */
export async function requireStreamable(deps: OperationDeps, appId: number): Promise<void> {
  await requireProject(deps.store, appId);
  if (!(await deps.store.getEndpoint(appId))) {
    throw new ReghookError('REGHOOK_ENDPOINT_MISSING', 'the project has no webhook endpoint, whose secret would sign the stream; set one first (it may stay disabled)');
  }
}

/** Feeds `sink` with the project's events from now on (after `lastEventId` on a reconnect) and its test webhooks. */
export function openEventStream(deps: OperationDeps, appId: number, sink: StreamSink, lastEventId?: string): DevStream {
  return deps.streams.open(appId, sink, { lastEventId });
}
