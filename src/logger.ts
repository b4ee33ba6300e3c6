import { pino, type Logger } from 'pino';

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

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'reghook' } },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
