/**
 * What the API's route plugins share: their dependencies, the caller as an operations Actor, and
 * ISO 8601 times. Its own module so that app.ts and the routes it registers do not import each other.
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Actor, OperationDeps } from '../operations/deps.js';
import type { StreamSettings } from './routes/stream.js';

export interface AppDeps extends OperationDeps {
  logger: Logger;
  metrics: Metrics;
  /** The one Authenticator (its failed-authentication budget is shared with the dashboard's sign-in). */
  authenticator: Authenticator;
  /** Requests per minute allowed to one project API key (the admin token is not limited). */
  keyRateLimitPerMinute?: number;
  /**
   * Addresses and CIDRs of reverse proxies whose X-Forwarded-For is believed (REGHOOK_TRUST_PROXY);
   * default none: request.ip is the peer's address, and a forwarded header from anyone is ignored.
   */
  trustProxy?: readonly string[];
  /** The development stream's heartbeat and slow-listener bounds (defaults: STREAM_DEFAULTS). */
  stream?: StreamSettings;
  /**
   * The base URL people reach the service at, for the links the API answers (portal sessions):
   * REGHOOK_PUBLIC_URL, else the listen URL (known once listening, hence a function).
   */
  publicUrl?: () => string;
}

/** The authenticated caller of an API route, for the operations and their audit records. */
export function actorOf(request: FastifyRequest): Actor {
  if (request.principal === null) throw new Error('actorOf: the route is public; it has no caller');
  return { principal: request.principal, ip: request.ip, via: 'api' };
}

/** ISO 8601 text of epoch milliseconds (null stays null). */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
