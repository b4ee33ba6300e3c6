import { pino, type Logger } from 'pino';
import type { Clock } from './clock.js';

/**
 * Paths pino censors wherever they appear: credentials, secrets, and the personal data of
 * SPEC section 7 (subscriberId, subscriberName, clientIp). Nothing logs bodies; this is the net
 * under that rule.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.authorization',
  '*.signingSecret',
  '*.secret',
  '*.apiKey',
  '*.adminToken',
  '*.subscriberId',
  '*.subscriberName',
  '*.clientIp',
  'subscriberId',
  'subscriberName',
  'clientIp',
  'signingSecret',
  'body',
  '*.body',
  'payload',
  '*.payload',
];

/**
 * Paths can carry personal data (`/subscribers/<subscriberId>`) and credentials (a portal session
 * link, `/portal/<token>`) too: such segments are masked, and so are the query parameters that
 * may carry a subscriberId (the log's `subscriberId` filter, the dashboard's search `q`).
 */
export function redactUrl(url: string): string {
  return url
    .replace(/(\/subscribers\/)[^/?#]+/g, '$1[redacted]')
    .replace(/(\/portal\/)[^/?#]+/g, '$1[redacted]')
    .replace(/([?&](?:subscriberId|q)=)[^&#]*/gi, '$1[redacted]');
}

interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
  id?: string;
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'reghook' },
      serializers: {
        // Replaces Fastify's request serializer: no headers, and no personal data in the path.
        req: (req: LoggedRequest) => ({ method: req.method, url: redactUrl(req.url ?? ''), remoteAddress: req.ip }),
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * At most one log line per `intervalMs` for one recurring condition (a full disk fails every
 * request), so it cannot flood the log; each line that is written counts the ones suppressed
 * since the previous.
 */
export class LogThrottle {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** Calls `write(suppressed)` when a line is due; otherwise only counts this occurrence. */
  report(write: (suppressed: number) => void): void {
    const now = this.clock.now();
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const suppressed = this.suppressed;
    this.lastAt = now;
    this.suppressed = 0;
    write(suppressed);
  }
}
