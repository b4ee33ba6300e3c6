/**
 * A reported registration, normalised into the webhook body of SPEC section 3. The body is the
 * canonical form: two reports of one user carry "the same data" exactly when their bodies match.
 */

/**
 * The longest subscriberId, in code points (Ajv's maxLength): ingest, the API's erasure and the
 * dashboard's erasure form accept the same ids.
 */
export const SUBSCRIBER_ID_MAX_LENGTH = 128;

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
export type { RegisteredUserEvent } from '@reghook/receiver';
import type { RegisteredUserEvent } from '@reghook/receiver';

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
/** RFC 3339 date-time with a mandatory offset (RFC 3339 allows a space for the `T`). */
const DATE_TIME =
  /^(?<day>\d{4}-\d{2}-\d{2})[Tt ](?<time>\d{2}:\d{2}:\d{2})(?:\.(?<fraction>\d+))?(?:[Zz]|(?<sign>[+-])(?<oh>\d{2}):?(?<om>\d{2}))$/;

/** The range of registerDate (SPEC section 5): every instant in it has a four-digit UTC year. */
export const REGISTER_DATE_MIN_MS = 0; // 1970-01-01 00:00:00
export const REGISTER_DATE_MAX_MS = 253_402_300_799_000; // 9999-12-31 23:59:59

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Epoch milliseconds of a `YYYY-MM-DD HH:mm:ss` UTC wall-clock time, or undefined when it names no
 * real moment: no 2021-02-30, no 24:00, no leap second (:60, which an epoch count cannot hold).
 */
function wallClockInstant(text: string, millis: number): number | undefined {
  const m = PLAIN_DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const days = month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1]!;
  if (day < 1 || day > days) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime();
}

/**
 * Parses a date-time input (purchaseDate, recover's since, …): RFC 3339 with an offset
 * (`2020-03-20T15:35:41+03:00`, `…Z`, `…+0300`; fractions kept to the millisecond). Returns
 * epoch milliseconds, or undefined when the text is not such a date-time or names no real instant
 * (leap seconds included). What validates is exactly what is stored: routes use this, not Date.parse.
 */
export function parseDateTime(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (!m?.groups) return undefined;
  const { day, time, fraction, sign, oh, om } = m.groups;
  const millis = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  const local = wallClockInstant(`${day} ${time}`, millis);
  if (local === undefined) return undefined;
  let offsetMinutes = 0;
  if (sign !== undefined) {
    const h = Number(oh);
    const min = Number(om);
    if (h > 23 || min > 59) return undefined;
    offsetMinutes = (h * 60 + min) * (sign === '-' ? -1 : 1);
  }
  return local - offsetMinutes * 60_000;
}

/**
 * Parses a registerDate: `YYYY-MM-DD HH:mm:ss` (UTC) or ISO 8601 with an offset (`Z`, `+03:00`).
 * Returns epoch milliseconds of the whole second, or undefined when the text is not such a date,
 * names no real moment, or falls (in UTC) outside 1970-01-01 00:00:00 … 9999-12-31 23:59:59.
 */
export function parseRegisterDate(text: string): number | undefined {
  // The offset form is the date-time grammar with a `T`; with a space, it is the plain UTC form.
  const instant = text[10] === ' ' ? wallClockInstant(text, 0) : text[10] === 'T' || text[10] === 't' ? parseDateTime(text) : undefined;
  if (instant === undefined) return undefined;
  // The webhook carries whole seconds; two reports within one second are the same date.
  const second = Math.floor(instant / 1000) * 1000;
  return second >= REGISTER_DATE_MIN_MS && second <= REGISTER_DATE_MAX_MS ? second : undefined;
}

/** `YYYY-MM-DD HH:mm:ss` in UTC, the only form the webhook carries (four-digit years only). */
export function formatRegisterDate(epochMs: number): string {
  if (!(epochMs >= REGISTER_DATE_MIN_MS && epochMs < REGISTER_DATE_MAX_MS + 1000)) {
    throw new RangeError(`${epochMs} is outside 1970-01-01 00:00:00 … 9999-12-31 23:59:59`);
  }
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
