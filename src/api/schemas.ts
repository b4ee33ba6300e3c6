/**
 * Request and response schemas (TypeBox = JSON Schema). The same objects validate requests (Ajv)
 * and generate /openapi.json, so the documentation cannot drift from what is enforced. The named
 * ones are listed in openapi.ts (COMPONENTS) and appear there as components; their descriptions
 * and examples are annotations Ajv ignores, and a test validates every example against its schema.
 */
import { Type, type Static } from 'typebox';
import { HEADER_NAME_PATTERN, HEADER_VALUE_PATTERN, MAX_CUSTOM_HEADERS } from '../domain/custom-headers.js';
import { MAX_ID } from '../domain/ids.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js';
import { problemType } from './problem.js';
import { SUBSCRIBER_ID_MAX_LENGTH } from '../domain/registration.js';

export { SUBSCRIBER_ID_MAX_LENGTH };

const PositiveId = (description: string) => Type.Integer({ minimum: 1, maximum: MAX_ID, description });

/** Values shared by the examples, so that they tell one consistent story. */
const EXAMPLE = {
  clientUuid: '8a6e0804-2bd0-4672-b79d-d97027f9071a',
  eventId: 'evt_01J8Z3K6Q4M2V7T9X0B5N8C1D3',
  keyId: 'key_3f9a2c41d07be865',
  apiKey: 'rhk_ExampleKeyNotReal_0123456789abcdefghijklmno',
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  createdAt: '2024-05-01T09:30:00.000Z',
  url: 'https://example.com/webhooks',
} as const;

const page = <T>(data: T[]) => ({ data, nextCursor: null });

export const AppIdParams = Type.Object({ appId: PositiveId('The project (application) id') }, { additionalProperties: false });

/** The development stream's request headers: a reconnect names the last message it got. */
export const StreamHeaders = Type.Object({
  'last-event-id': Type.Optional(
    Type.String({
      pattern: '^evt_[0-9A-Z]{26}$',
      description: "The `id:` of the last message received: the stream resumes after it with the project's events that still have their body (within retention)",
    }),
  ),
});

export const RegistrationBody = Type.Object(
  {
    clientUuid: Type.String({ format: 'uuid', maxLength: 36, description: 'The user, unique within the app' }),
    clientIp: Type.String({ format: 'ip', maxLength: 45, description: 'IPv4 or IPv6 address the user registered from' }),
    country: Type.Optional(
      Type.Union([Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }), Type.Null()]),
    ),
    language: Type.String({ minLength: 2, maxLength: 35, pattern: '^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$' }),
    storeRegister: Type.Boolean({ description: 'true: a store registration, which fires at the first purchase' }),
    subscriberId: Type.String({ minLength: 1, maxLength: SUBSCRIBER_ID_MAX_LENGTH }),
    subscriberName: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()])),
    appId: PositiveId('The project'),
    flowId: PositiveId('The sales flow'),
    siteId: PositiveId('The Self Service site'),
    registerDate: Type.String({
      format: 'register-date',
      maxLength: 40,
      description: '`YYYY-MM-DD HH:mm:ss` (UTC) or ISO 8601 with an offset',
    }),
    registerOtpStatus: Type.Boolean(),
  },
  {
    additionalProperties: false,
    description: 'A registration the platform reports: the fields of the webhook body; `registerDate` may also carry an offset.',
    examples: [
      {
        clientUuid: EXAMPLE.clientUuid,
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
  },
);
export type RegistrationBody = Static<typeof RegistrationBody>;

export const RegistrationAnswer = Type.Object(
  {
    eventId: Type.Union([Type.String(), Type.Null()], { description: 'The webhook event, null while a store registration awaits its first purchase' }),
    status: Type.Union([Type.Literal('pending'), Type.Literal('skipped'), Type.Literal('awaiting_first_purchase')]),
  },
  {
    description: 'What became of a reported registration.',
    examples: [
      { eventId: EXAMPLE.eventId, status: 'pending' },
      { eventId: null, status: 'awaiting_first_purchase' },
    ],
  },
);

export const PurchaseBody = Type.Object(
  {
    appId: PositiveId('The project'),
    clientUuid: Type.String({ format: 'uuid', maxLength: 36 }),
    transactionId: Type.String({ minLength: 1, maxLength: 128 }),
    purchaseDate: Type.Optional(Type.String({ format: 'date-time', maxLength: 40 })),
  },
  {
    additionalProperties: false,
    description: "A purchase the platform reports; a store user's first one sends their webhook.",
    examples: [{ appId: 1, clientUuid: EXAMPLE.clientUuid, transactionId: 'tx-20200321-0001', purchaseDate: '2020-03-21T10:00:00Z' }],
  },
);
export type PurchaseBody = Static<typeof PurchaseBody>;

export const PurchaseAnswer = Type.Object(
  {
    triggered: Type.Boolean({ description: 'true: this purchase created the webhook event' }),
    eventId: Type.Optional(Type.String()),
    reason: Type.Optional(
      Type.Union([Type.Literal('not_first_purchase'), Type.Literal('self_service_user'), Type.Literal('awaiting_registration')]),
    ),
  },
  {
    description: 'What a reported purchase did.',
    examples: [
      { triggered: true, eventId: EXAMPLE.eventId },
      { triggered: false, reason: 'not_first_purchase' },
    ],
  },
);

export const ProjectBody = Type.Object(
  { appId: PositiveId('The platform app id this project receives registrations for'), name: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false, description: 'A new project.', examples: [{ appId: 1, name: 'My shop' }] },
);
export type ProjectBody = Static<typeof ProjectBody>;

const projectExample = { appId: 1, name: 'My shop', createdAt: EXAMPLE.createdAt };

export const Project = Type.Object(
  { appId: Type.Integer(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }) },
  { description: 'A project: one platform app and its webhook endpoint.', examples: [projectExample] },
);

const IsoOrNull = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

export const EndpointHealth = Type.Union([Type.Literal('unknown'), Type.Literal('healthy'), Type.Literal('failing')], {
  description: `unknown: no scheduled attempt yet; failing: the last REGHOOK_FAILING_AFTER (default 3) scheduled attempts failed; otherwise healthy. Manual and test attempts do not count.`,
});

const healthExample = { health: 'failing', consecutiveFailures: 4, failingSince: '2024-05-01T10:00:00.000Z' } as const;

export const WebhookSummary = Type.Union(
  [
    Type.Object({
      enabled: Type.Boolean(),
      health: EndpointHealth,
      consecutiveFailures: Type.Integer({ minimum: 0, description: 'Scheduled attempts failed since the last success' }),
      failingSince: IsoOrNull('Start of the first failed attempt of the failing streak; null unless failing'),
    }),
    Type.Null(),
  ],
  { description: "The project's endpoint: on or off, and its health; null when it has none." },
);

const projectItemExample = { ...projectExample, webhook: { enabled: true, ...healthExample } };

export const ProjectItem = Type.Object(
  { ...Project.properties, webhook: WebhookSummary },
  { description: 'A project and the health of its endpoint.', examples: [projectItemExample] },
);

export const ProjectListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$|^-?[0-9]{1,16}\\.[0-9]{1,10}$', description: 'nextCursor of the previous page' })),
    health: Type.Optional(Type.Literal('failing', { description: 'Only the projects whose endpoint is failing, longest failing first' })),
  },
  { additionalProperties: false },
);

export const StatsWindow = Type.Union([Type.Literal('1h'), Type.Literal('24h'), Type.Literal('7d'), Type.Literal('30d')]);

export const StatsQuery = Type.Object(
  { window: Type.Optional({ ...StatsWindow, default: '24h', description: 'How far back from now (default 24h)' }) },
  { additionalProperties: false },
);

export const WebhookStats = Type.Object(
  {
    window: StatsWindow,
    events: Type.Object(
      { pending: Type.Integer(), delivered: Type.Integer(), failed: Type.Integer(), skipped: Type.Integer() },
      { description: 'Events created inside the window, by their status now' },
    ),
    attempts: Type.Object(
      { succeeded: Type.Integer(), failed: Type.Integer() },
      { description: 'Finished attempts (scheduled, manual and test) started inside the window' },
    ),
    latencyMs: Type.Union(
      [Type.Object({ p50: Type.Integer(), p95: Type.Integer(), p99: Type.Integer() }), Type.Null()],
      {
        description:
          'Durations of the successful attempts among them, nearest-rank percentiles, each the upper bound of its histogram bucket (exact below 16 ms, at most 12.5 % high above); null without a successful attempt',
      },
    ),
    health: EndpointHealth,
    consecutiveFailures: Type.Integer({ minimum: 0 }),
    failingSince: IsoOrNull('Start of the first failed attempt of the failing streak; null unless failing'),
    lastSuccessAt: IsoOrNull('Start of the last successful scheduled attempt'),
    lastFailureAt: IsoOrNull('Start of the last failed scheduled attempt'),
  },
  {
    description: "A project's delivery figures over one window, and its endpoint's health.",
    examples: [
      {
        window: '24h',
        events: { pending: 2, delivered: 1480, failed: 3, skipped: 0 },
        attempts: { succeeded: 1480, failed: 41 },
        latencyMs: { p50: 87, p95: 319, p99: 959 },
        health: 'healthy',
        consecutiveFailures: 0,
        failingSince: null,
        lastSuccessAt: '2024-05-01T09:29:58.000Z',
        lastFailureAt: '2024-05-01T07:12:03.000Z',
      },
    ],
  },
);

export const NewProject = Type.Object(
  {
    ...Project.properties,
    apiKeyId: Type.String(),
    apiKey: Type.String({ description: 'The first project API key; shown once, only its hash is stored' }),
  },
  { description: 'A created project and its first API key.', examples: [{ ...projectExample, apiKeyId: EXAMPLE.keyId, apiKey: EXAMPLE.apiKey }] },
);

const apiKeyExample = { id: EXAMPLE.keyId, prefix: EXAMPLE.apiKey.slice(0, 8), createdAt: EXAMPLE.createdAt, revokedAt: null };

export const ApiKey = Type.Object(
  {
    id: Type.String(),
    prefix: Type.String({ description: 'The first 8 characters of the key, to recognise it' }),
    createdAt: Type.String({ format: 'date-time' }),
    revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { description: 'A project API key, never the key itself.', examples: [apiKeyExample] },
);

export const ProjectDetail = Type.Object(
  { ...Project.properties, webhook: WebhookSummary, apiKeys: Type.Array(ApiKey) },
  { description: 'A project, its endpoint\'s health and its API keys, revoked ones included.', examples: [{ ...projectItemExample, apiKeys: [apiKeyExample] }] },
);

export const NewApiKey = Type.Object(
  {
    id: Type.String(),
    apiKey: Type.String({ description: 'Shown once: only its hash is stored' }),
  },
  { description: 'A created API key.', examples: [{ id: EXAMPLE.keyId, apiKey: EXAMPLE.apiKey }] },
);

export const PortalSessionBody = Type.Object(
  {
    expiresIn: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,7}(ms|s|m|h|d)$',
        default: '10m',
        description: 'How long the link stays usable: a duration such as `90s`, `10m`, `1h`; at most `24h`',
      }),
    ),
    readOnly: Type.Optional(Type.Boolean({ default: false, description: 'A read-only session sees everything and changes nothing' })),
  },
  {
    additionalProperties: false,
    description: 'A portal session link to mint; every field is optional (an empty body is a 10-minute full session).',
    examples: [{ expiresIn: '10m', readOnly: false }],
  },
);

export const NewPortalSession = Type.Object(
  {
    id: Type.String({ pattern: '^ps_[0-9a-f]{16}$', description: 'The public id: the audit log names the session `portal:<id>`' }),
    url: Type.String({ format: 'uri', description: 'The single-use link (REGHOOK_PUBLIC_URL + `/portal/<token>`); shown once, only its hash is stored' }),
    expiresAt: Type.String({ format: 'date-time', description: 'The link is refused from then on (and after its first use)' }),
    readOnly: Type.Boolean(),
  },
  {
    description: 'A minted portal session link: open it in a browser, or as the `src` of an iframe on a REGHOOK_DASHBOARD_FRAME_ANCESTORS origin.',
    examples: [
      {
        id: 'ps_5d2f8a1c9e4b7a03',
        url: 'https://reghook.example.com/portal/kQ3v9Jx0Wb7Yp2Ls5Nd8Rf1Th4Gm6Zc0Ae3Ui7Oy9Bw',
        expiresAt: '2024-05-01T09:40:00.000Z',
        readOnly: false,
      },
    ],
  },
);

export const KeyParams = Type.Object(
  { appId: PositiveId('The project'), keyId: Type.String({ pattern: '^key_[0-9a-f]{16}$' }) },
  { additionalProperties: false },
);

export const WebhookBody = Type.Object(
  {
    // No maxLength here: a URL over 2048 characters is refused by the endpoint URL policy with 422
    // and its reason (SPEC section 5), like every other refused URL, not with a 400 (the request
    // body limit bounds it).
    url: Type.String({ minLength: 1, description: 'http(s) URL the webhooks are POSTed to; at most 2048 characters (a longer one answers 422 REGHOOK_ENDPOINT_URL_REFUSED)' }),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: HEADER_NAME_PATTERN }), Type.String({ pattern: HEADER_VALUE_PATTERN, maxLength: 1024 }), {
        maxProperties: MAX_CUSTOM_HEADERS,
        description:
          'Custom request headers sent on every attempt (at most 20; names are HTTP tokens of at most 64 characters, values at most 1,024 printable ASCII characters). Replaces the ones set; `{}` clears them; omitted keeps them. Reserved names (content-type, host, user-agent, webhook-*, proxy-* …) answer 422.',
      }),
    ),
    rateLimitPerSecond: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 10_000 }), Type.Null()], {
        description: 'At most this many scheduled deliveries per second to the endpoint (null: no cap); omitted keeps the one set',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "The project's webhook endpoint, as set.",
    examples: [{ url: EXAMPLE.url, enabled: true }, { url: EXAMPLE.url, enabled: true, headers: { 'X-Api-Key': 'key-your-firewall-checks' } }],
  },
);
export type WebhookBody = Static<typeof WebhookBody>;

const endpointExample = { url: EXAMPLE.url, enabled: true, headers: {}, rateLimitPerSecond: null, createdAt: EXAMPLE.createdAt, updatedAt: EXAMPLE.createdAt };

export const Webhook = Type.Object(
  {
    url: Type.String(),
    enabled: Type.Boolean(),
    headers: Type.Record(Type.String(), Type.String(), { description: 'The custom headers: names, with masked values (a value is never shown again)' }),
    rateLimitPerSecond: Type.Union([Type.Integer(), Type.Null()], { description: 'The cap on deliveries per second, or null' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    signingSecret: Type.Optional(Type.String({ description: 'Returned when the endpoint is first created' })),
  },
  {
    description: "The project's webhook endpoint.",
    examples: [endpointExample, { ...endpointExample, signingSecret: EXAMPLE.secret }],
  },
);

export const Secret = Type.Object(
  {
    signingSecret: Type.String({ description: '`whsec_` and the base64 HMAC key (Standard Webhooks)' }),
    previousSecretExpiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Until when a rotated-out secret still co-signs' })),
  },
  {
    description: "The endpoint's signing secret.",
    examples: [{ signingSecret: EXAMPLE.secret, previousSecretExpiresAt: null }],
  },
);

export const TestResult = Type.Object(
  {
    success: Type.Boolean(),
    statusCode: Type.Union([Type.Integer(), Type.Null()]),
    durationMs: Type.Integer(),
    error: Type.Union([Type.String(), Type.Null()], { description: 'The error kind when there was no answer (timeout, refused, …)' }),
    responseBody: Type.Union([Type.String(), Type.Null()], { description: "The first 1 KiB of the endpoint's answer" }),
  },
  {
    description: 'The outcome of a test webhook (one attempt, not retried).',
    examples: [{ success: true, statusCode: 200, durationMs: 42, error: null, responseBody: 'ok' }],
  },
);

export const EventStatus = Type.Union(
  [Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('skipped'), Type.Literal('erased')],
  { description: 'Where an event stands; see the delivery log in docs/webhooks.md.', examples: ['delivered'] },
);

export const EventListQuery = Type.Object(
  {
    status: Type.Optional(EventStatus),
    eventId: Type.Optional(Type.String({ pattern: '^evt_[0-9A-Z]{26}$', description: 'Only this event' })),
    clientUuid: Type.Optional(Type.String({ format: 'uuid', maxLength: 36, description: 'Only the event of this user (any letter case)' })),
    subscriberId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: SUBSCRIBER_ID_MAX_LENGTH,
        description: 'Only the events of this subscriberId (exact match). Found through a keyed hash, never a plain-text index; an erased person is not found.',
      }),
    ),
    since: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'Created at or after this time' })),
    until: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'Created at or before this time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^evt_[0-9A-Z]{26}$' })),
  },
  { additionalProperties: false },
);

export const EventParams = Type.Object(
  { appId: PositiveId('The project'), eventId: Type.String({ pattern: '^evt_[0-9A-Z]{26}$' }) },
  { additionalProperties: false },
);

const eventSummaryExample = {
  eventId: EXAMPLE.eventId,
  clientUuid: EXAMPLE.clientUuid,
  status: 'delivered',
  attemptCount: 1,
  createdAt: '2024-05-01T09:31:00.000Z',
  nextAttemptAt: null,
  deliveredAt: '2024-05-01T09:31:00.250Z',
};

const eventListItemExample = { ...eventSummaryExample, lastAttempt: { at: '2024-05-01T09:31:00.050Z', statusCode: 200, error: null } };

export const LastAttempt = Type.Union(
  [
    Type.Object({
      at: Type.String({ format: 'date-time', description: 'When the attempt started' }),
      statusCode: Type.Union([Type.Integer(), Type.Null()]),
      error: Type.Union([Type.String(), Type.Null()], { description: 'Why it failed (`http_500`, `timeout`, …), `interrupted` when its process stopped, null on success' }),
    }),
    Type.Null(),
  ],
  {
    description: "The event's newest attempt (any trigger), or null before the first.",
    examples: [{ at: '2024-05-01T09:31:00.050Z', statusCode: 500, error: 'http_500' }],
  },
);

export const EventSummary = Type.Object(
  {
    eventId: Type.String(),
    clientUuid: Type.String(),
    status: EventStatus,
    attemptCount: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { description: 'A webhook event in the delivery log.', examples: [eventSummaryExample] },
);

export const Attempt = Type.Object(
  {
    number: Type.Integer(),
    trigger: Type.Union([Type.Literal('scheduled'), Type.Literal('manual'), Type.Literal('test')]),
    startedAt: Type.String({ format: 'date-time' }),
    durationMs: Type.Union([Type.Integer(), Type.Null()]),
    success: Type.Union([Type.Boolean(), Type.Null()]),
    statusCode: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    responseBody: Type.Union([Type.String(), Type.Null()]),
  },
  {
    description: 'One delivery attempt of an event; no outcome (null success) means it was in flight when its process stopped.',
    examples: [
      { number: 1, trigger: 'scheduled', startedAt: '2024-05-01T09:31:00.010Z', durationMs: 240, success: true, statusCode: 200, error: null, responseBody: 'ok' },
    ],
  },
);

export const EventDetail = Type.Object(
  {
    ...EventSummary.properties,
    payload: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
      description: 'The webhook body (a RegisteredUser); null once the person was erased',
    }),
    attempts: Type.Array(Attempt),
  },
  {
    description: 'An event, its payload and every attempt.',
    examples: [
      {
        ...eventSummaryExample,
        payload: {
          clientUuid: EXAMPLE.clientUuid,
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
        attempts: [
          { number: 1, trigger: 'scheduled', startedAt: '2024-05-01T09:31:00.010Z', durationMs: 240, success: true, statusCode: 200, error: null, responseBody: 'ok' },
        ],
      },
    ],
  },
);

export const Redelivery = Type.Object(
  { eventId: Type.String(), status: Type.Literal('attempting') },
  { description: 'A manual attempt was started; its outcome appears in the delivery log.', examples: [{ eventId: EXAMPLE.eventId, status: 'attempting' }] },
);

export const RecoverBody = Type.Object(
  { since: Type.String({ format: 'date-time', maxLength: 40 }) },
  { additionalProperties: false, description: 'Recover the failed events created since this time.', examples: [{ since: '2024-05-01T00:00:00Z' }] },
);

export const Recovered = Type.Object(
  { recovered: Type.Integer({ description: 'How many failed events are back on a fresh schedule' }) },
  { description: 'The outcome of a recovery.', examples: [{ recovered: 3 }] },
);

const auditExample = {
  id: 7,
  at: EXAMPLE.createdAt,
  actor: 'admin',
  action: 'secret.rotated',
  details: { previousSecretExpiresAt: '2024-05-02T09:30:00.000Z' },
  sourceIp: '198.51.100.4',
};

export const AuditEntry = Type.Object(
  {
    id: Type.Integer(),
    at: Type.String({ format: 'date-time' }),
    actor: Type.String({ description: '`admin` or `key:<keyId>`' }),
    action: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown()),
    sourceIp: Type.Union([Type.String(), Type.Null()]),
  },
  {
    description: 'One change to keys, endpoints or secrets (never a secret itself).',
    examples: [auditExample],
  },
);

export const Erasure = Type.Object(
  { erasedRegistrations: Type.Integer(), erasedPayloads: Type.Integer() },
  { description: 'What the erasure of one person removed.', examples: [{ erasedRegistrations: 1, erasedPayloads: 1 }] },
);

export const Health = Type.Object({ status: Type.Literal('ok') }, { description: 'The process is alive.', examples: [{ status: 'ok' }] });

export const Readiness = Type.Object(
  { status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]) },
  { description: 'Whether the database answers, takes writes and has its migrations.', examples: [{ status: 'ready' }, { status: 'not_ready' }] },
);

export const FieldError = Type.Object(
  {
    path: Type.String({ description: 'JSON pointer to the field: `/clientIp`, `/params/appId`, `/query/limit`' }),
    message: Type.String(),
  },
  { description: 'What is wrong with one field of the request.', examples: [{ path: '/clientIp', message: 'must be an IPv4 or IPv6 address' }] },
);

const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

export const Problem = Type.Object(
  {
    type: Type.String({ pattern: '^urn:reghook:problem:[a-z-]+$', description: 'A stable URN per `code`' }),
    title: Type.String({ description: "The code's title (the catalogue's); it never varies for a code" }),
    status: Type.Integer({ minimum: 400, maximum: 599, description: 'The HTTP status' }),
    detail: Type.String({ description: 'What went wrong this time, for a person; do not parse it' }),
    code: Type.Enum(ERROR_CODES, { type: 'string', description: 'What to branch on: stable, never reused for another meaning' }),
    errors: Type.Optional(Type.Array(FieldError, { description: 'For validation failures: each offending field' })),
  },
  {
    description: 'An RFC 9457 problem: every error the API answers.',
    examples: [
      {
        type: problemType('REGHOOK_VALIDATION'),
        title: ERROR_CATALOGUE.REGHOOK_VALIDATION.title,
        status: 400,
        detail: 'invalid request: /clientIp',
        code: 'REGHOOK_VALIDATION',
        errors: [{ path: '/clientIp', message: 'must be an IPv4 or IPv6 address' }],
      },
    ],
  },
);

export const ListOf = <T extends Parameters<typeof Type.Array>[0]>(item: T, description: string, examples: unknown[]) =>
  Type.Object(
    {
      data: Type.Array(item),
      nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass it back as `cursor` for the next page; null: this was the last' }),
    },
    { description, examples: [page(examples)] },
  );

export const ProjectList = ListOf(ProjectItem, 'A page of projects.', [projectItemExample]);
export const ApiKeyList = ListOf(ApiKey, "The project's API keys, revoked ones included (one page, always the last).", [apiKeyExample]);
export const EventListItem = Type.Object(
  { ...EventSummary.properties, lastAttempt: LastAttempt },
  { description: 'A row of the delivery log: the event and its newest attempt.', examples: [eventListItemExample] },
);
export const EventList = ListOf(EventListItem, 'A page of the delivery log, newest first.', [eventListItemExample]);

export const ReplayBody = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Type.Union([Type.Literal('failed'), Type.Literal('skipped'), Type.Literal('delivered')]), {
        minItems: 1,
        maxItems: 3,
        description: 'The statuses to replay (default `["failed"]`)',
      }),
    ),
    since: Type.String({ format: 'date-time', maxLength: 40, description: 'Created at or after this time' }),
    until: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'Created at or before this time' })),
    dryRun: Type.Optional(Type.Boolean({ default: false, description: 'Only count, change nothing' })),
  },
  {
    additionalProperties: false,
    description: 'Which events a replay puts back on a fresh schedule.',
    examples: [{ status: ['failed', 'skipped'], since: '2024-05-01T00:00:00Z', dryRun: true }],
  },
);

export const Replayed = Type.Object(
  {
    count: Type.Integer({ description: 'How many events matched (and, without dryRun, are back on a fresh schedule)' }),
    dryRun: Type.Optional(Type.Literal(true)),
  },
  { description: 'The outcome of a replay.', examples: [{ count: 12 }, { count: 12, dryRun: true }] },
);
export const AuditLog = ListOf(AuditEntry, 'A page of the audit log, newest first.', [auditExample]);

const operatorEventExample = {
  id: 'oev_01J8Z3K6Q4M2V7T9X0B5N8C1D3',
  type: 'endpoint.failing',
  status: 'delivered',
  attemptCount: 1,
  createdAt: '2024-05-01T09:31:00.060Z',
  nextAttemptAt: null,
  deliveredAt: '2024-05-01T09:31:00.120Z',
  lastAttempt: { at: '2024-05-01T09:31:00.070Z', statusCode: 200, error: null },
  payload: {
    type: 'endpoint.failing',
    timestamp: '2024-05-01T09:31:00.060Z',
    data: {
      appId: 1,
      url: 'https://merchant.example/webhooks',
      consecutiveFailures: 3,
      failingSince: '2024-05-01T07:31:00.050Z',
      lastAttempt: { at: '2024-05-01T09:31:00.050Z', statusCode: 500, error: 'http_500' },
    },
  },
};

export const OperatorEventItem = Type.Object(
  {
    id: Type.String({ description: 'The webhook-id of every attempt (`oev_…`, time-sortable)' }),
    type: Type.Union([Type.Literal('endpoint.failing'), Type.Literal('endpoint.recovered'), Type.Literal('event.failed')]),
    status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
    attemptCount: Type.Integer({ description: 'Attempts made (the one in flight included)' }),
    createdAt: Type.String({ format: 'date-time' }),
    nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'While pending: when it is due (while an attempt is in flight, when its lease ends)' }),
    deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    lastAttempt: Type.Union(
      [
        Type.Object({
          at: Type.String({ format: 'date-time', description: 'When the attempt started' }),
          statusCode: Type.Union([Type.Integer(), Type.Null()]),
          error: Type.Union([Type.String(), Type.Null()], { description: 'Why it failed (`http_500`, `timeout`, …), null on success' }),
        }),
        Type.Null(),
      ],
      { description: 'The last recorded attempt, or null before the first' },
    ),
    payload: Type.Object(
      { type: Type.String(), timestamp: Type.String({ format: 'date-time' }), data: Type.Object({}, { additionalProperties: true }) },
      { description: 'The exact envelope every attempt sends: `{ type, timestamp, data }`' },
    ),
  },
  { description: 'An operator notification (operational webhook) and how its delivery went.', examples: [operatorEventExample] },
);
export const OperatorEventList = ListOf(OperatorEventItem, 'A page of operator notifications, newest first.', [operatorEventExample]);
