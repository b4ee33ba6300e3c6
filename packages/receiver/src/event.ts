/**
 * The "user registered" event (SPEC section 3): its TypeScript type, its JSON Schema, and the
 * hand-written validator verifyWebhook runs (the SDK has no runtime dependencies, so no ajv).
 */
import { isIP } from 'node:net';

/** The webhook body, exactly as sent (key order as in the spec). */
export interface RegisteredUserEvent {
  clientUuid: string;
  clientIp: string;
  /** ISO 3166-1 alpha-2, upper case; null when not known. */
  country: string | null;
  language: string;
  /** true: a store registration (sent at the first purchase); false: self service. */
  storeRegister: boolean;
  subscriberId: string;
  subscriberName: string | null;
  appId: number;
  flowId: number;
  siteId: number;
  /** UTC, `YYYY-MM-DD HH:mm:ss`; registerDateOf() gives it as a Date. */
  registerDate: string;
  registerOtpStatus: boolean;
}

const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const COUNTRY_PATTERN = '^[A-Z]{2}$';
const REGISTER_DATE_PATTERN =
  '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$';

const positiveId = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

/**
 * JSON Schema (draft 2020-12) of RegisteredUserEvent. Formats (uuid, ipv4/ipv6) are annotations
 * in 2020-12; validateRegisteredUserEvent asserts them, and also that registerDate is a real day.
 */
export const registeredUserEventSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  /** Also served by reghook at GET /schemas/registered-user.json. */
  $id: 'urn:reghook:schema:registered-user',
  title: 'RegisteredUserEvent',
  description: 'The body of a reghook "user registered" webhook.',
  type: 'object',
  // Open: reghook may add a field; a receiver keeps it rather than refusing the webhook.
  additionalProperties: true,
  required: [
    'clientUuid', 'clientIp', 'country', 'language', 'storeRegister', 'subscriberId',
    'subscriberName', 'appId', 'flowId', 'siteId', 'registerDate', 'registerOtpStatus',
  ],
  properties: {
    clientUuid: { type: 'string', format: 'uuid', pattern: UUID_PATTERN },
    clientIp: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
    country: { type: ['string', 'null'], pattern: COUNTRY_PATTERN },
    language: { type: 'string', minLength: 1 },
    storeRegister: { type: 'boolean' },
    subscriberId: { type: 'string', minLength: 1 },
    subscriberName: { type: ['string', 'null'] },
    appId: positiveId,
    flowId: positiveId,
    siteId: positiveId,
    registerDate: { type: 'string', pattern: REGISTER_DATE_PATTERN, description: 'UTC' },
    registerOtpStatus: { type: 'boolean' },
  },
  examples: [
    {
      clientUuid: '8a6e0804-2bd0-4672-b79d-d97027f9071a',
      clientIp: '203.0.113.7',
      country: 'TR',
      language: 'en',
      storeRegister: true,
      subscriberId: '905555555555',
      subscriberName: 'John Doe',
      appId: 1,
      flowId: 1,
      siteId: 1,
      registerDate: '2020-03-20 12:35:41',
      registerOtpStatus: false,
    },
  ],
} as const;

/** One reason a value is not a RegisteredUserEvent; `path` is a JSON Pointer (`/appId`). */
export interface EventValidationIssue {
  path: string;
  message: string;
}

export type EventValidationResult =
  | { ok: true; event: RegisteredUserEvent }
  | { ok: false; issues: EventValidationIssue[] };

const uuid = new RegExp(UUID_PATTERN);
const country = new RegExp(COUNTRY_PATTERN);
const registerDate = new RegExp(REGISTER_DATE_PATTERN);
const knownKeys: ReadonlySet<string> = new Set(registeredUserEventSchema.required);

/** Checks a parsed JSON value against the schema; on success returns a fresh object in spec key order. */
export function validateRegisteredUserEvent(value: unknown): EventValidationResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, issues: [{ path: '', message: 'must be a JSON object' }] };
  }
  const input = value as Record<string, unknown>;
  const issues: EventValidationIssue[] = [];
  const problem = (key: string, message: string): void => void issues.push({ path: `/${key}`, message });

  for (const key of knownKeys) {
    if (!Object.hasOwn(input, key)) problem(key, 'is required');
  }

  const string = (key: string, check?: (s: string) => string | undefined): void => {
    const v = input[key];
    if (!Object.hasOwn(input, key)) return;
    if (typeof v !== 'string') return problem(key, 'must be a string');
    const reason = check?.(v);
    if (reason !== undefined) problem(key, reason);
  };
  const nullableString = (key: string, check?: (s: string) => string | undefined): void => {
    if (input[key] !== null) string(key, check);
  };
  const boolean = (key: string): void => {
    if (Object.hasOwn(input, key) && typeof input[key] !== 'boolean') problem(key, 'must be a boolean');
  };
  const positiveInteger = (key: string): void => {
    const v = input[key];
    if (!Object.hasOwn(input, key)) return;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      problem(key, 'must be an integer from 1 to 2^53-1');
    }
  };

  string('clientUuid', (s) => (uuid.test(s) ? undefined : 'must be a UUID'));
  // isIP accepts an IPv6 zone id (fe80::1%eth0), which format "ipv6" does not.
  string('clientIp', (s) => (isIP(s) !== 0 && !s.includes('%') ? undefined : 'must be an IPv4 or IPv6 address'));
  nullableString('country', (s) => (country.test(s) ? undefined : 'must be two upper-case letters or null'));
  string('language', (s) => (s.length > 0 ? undefined : 'must not be empty'));
  boolean('storeRegister');
  string('subscriberId', (s) => (s.length > 0 ? undefined : 'must not be empty'));
  nullableString('subscriberName');
  positiveInteger('appId');
  positiveInteger('flowId');
  positiveInteger('siteId');
  string('registerDate', (s) =>
    registerDate.test(s) && parseRegisterDate(s) !== undefined ? undefined : 'must be a UTC date "YYYY-MM-DD HH:mm:ss"',
  );
  boolean('registerOtpStatus');

  if (issues.length > 0) return { ok: false, issues };
  // The known properties in the spec's order, then any others as sent (a field reghook adds
  // later reaches the handler); `__proto__` is dropped, so no prototype is set through the body.
  const event: Record<string, unknown> = {};
  for (const key of knownKeys) event[key] = input[key];
  for (const [key, v] of Object.entries(input)) if (!knownKeys.has(key) && key !== '__proto__') event[key] = v;
  return { ok: true, event: event as unknown as RegisteredUserEvent };
}

/** Epoch milliseconds of `YYYY-MM-DD HH:mm:ss` read as UTC, or undefined if it names no real moment. */
function parseRegisterDate(text: string): number | undefined {
  const [year, month, day, hour, minute, second] = text.split(/[- :]/).map(Number) as [
    number, number, number, number, number, number,
  ];
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  // A day the month does not have (2021-02-30) rolls over into the next month.
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? date.getTime() : undefined;
}

/** The event's registerDate as a Date (the event itself keeps the string exactly as sent). */
export function registerDateOf(event: Pick<RegisteredUserEvent, 'registerDate'>): Date {
  const ms = registerDate.test(event.registerDate) ? parseRegisterDate(event.registerDate) : undefined;
  if (ms === undefined) throw new RangeError(`not a "YYYY-MM-DD HH:mm:ss" date: ${event.registerDate}`);
  return new Date(ms);
}
