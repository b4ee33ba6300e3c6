/**
 * A reported registration, normalised into the webhook body of SPEC section 3. The body is the
 * canonical form: two reports of one user carry "the same data" exactly when their bodies match.
 */

/** What the ingest route accepts (already schema-validated). */
export interface RegistrationReport {
  clientUuid: string;
  clientIp: string;
  country?: string | null;
  language: string;
  storeRegister: boolean;
  subscriberId: string;
  subscriberName?: string | null;
  appId: number;
  flowId: number;
  siteId: number;
  registerDate: string;
  registerOtpStatus: boolean;
}

/** The webhook body (key order as in the spec): one type, shared with the receiver SDK. */
export type { RegisteredUserEvent } from '../receiver/event.js';
import type { RegisteredUserEvent } from '../receiver/event.js';

export interface NormalizedRegistration {
  appId: number;
  clientUuid: string;
  storeRegister: boolean;
  /** Kept beside the body so a person can be found for erasure. */
  subscriberId: string;
  /** The exact JSON bytes every attempt sends. */
  body: string;
}

const PLAIN_DATE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Parses a registerDate: `YYYY-MM-DD HH:mm:ss` (UTC) or ISO 8601 with an offset (`Z`, `+03:00`).
 * Returns epoch milliseconds, or undefined when the text is not such a date or names no real day.
 */
export function parseRegisterDate(text: string): number | undefined {
  const plain = PLAIN_DATE.exec(text);
  const iso = plain ? null : ISO_WITH_OFFSET.exec(text);
  const m = plain ?? iso;
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2021-02-30 over into March: refuse days the month does not have.
  if (new Date(utc).getUTCDate() !== day) return undefined;
  let offsetMinutes = 0;
  if (iso) {
    const zone = iso[8]!;
    if (zone.toUpperCase() !== 'Z') {
      const digits = zone.replace(':', '');
      const h = Number(digits.slice(1, 3));
      const min = Number(digits.slice(3, 5));
      if (h > 23 || min > 59) return undefined;
      offsetMinutes = (h * 60 + min) * (digits[0] === '-' ? -1 : 1);
    }
  }
  const instant = utc - offsetMinutes * 60_000;
  // Nobody registered before the epoch; refusing it keeps the stored integer non-negative.
  return instant >= 0 ? instant : undefined;
}

/** `YYYY-MM-DD HH:mm:ss` in UTC, the only form the webhook carries. */
export function formatRegisterDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');
}

/** Builds the canonical webhook body. The report must be schema-valid (its registerDate parses). */
export function normalizeRegistration(report: RegistrationReport): NormalizedRegistration {
  const dateMs = parseRegisterDate(report.registerDate);
  if (dateMs === undefined) throw new RangeError('registerDate was not validated');
  const event: RegisteredUserEvent = {
    clientUuid: report.clientUuid.toLowerCase(),
    clientIp: report.clientIp,
    country: report.country ?? null,
    language: report.language,
    storeRegister: report.storeRegister,
    subscriberId: report.subscriberId,
    subscriberName: report.subscriberName ?? null,
    appId: report.appId,
    flowId: report.flowId,
    siteId: report.siteId,
    registerDate: formatRegisterDate(dateMs),
    registerOtpStatus: report.registerOtpStatus,
  };
  return {
    appId: event.appId,
    clientUuid: event.clientUuid,
    storeRegister: event.storeRegister,
    subscriberId: event.subscriberId,
    body: JSON.stringify(event),
  };
}

/** The sample event a "Send Test Webhook" carries, for a project. */
export function sampleEvent(appId: number, nowMs: number): RegisteredUserEvent {
  return {
    clientUuid: '00000000-0000-4000-8000-000000000000',
    clientIp: '203.0.113.7',
    country: 'TR',
    language: 'en',
    storeRegister: false,
    subscriberId: '905555555555',
    subscriberName: 'Test User',
    appId,
    flowId: 1,
    siteId: 1,
    registerDate: formatRegisterDate(nowMs),
    registerOtpStatus: false,
  };
}
