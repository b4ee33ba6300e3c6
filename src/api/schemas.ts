/**
 * Request and response schemas (TypeBox = JSON Schema). The same objects validate requests (Ajv)
 * and generate /openapi.json, so the documentation cannot drift from what is enforced.
 */
import { Type, type Static } from 'typebox';
import { MAX_ID } from '../domain/ids.js';
import { SUBSCRIBER_ID_MAX_LENGTH } from '../domain/registration.js';

export { SUBSCRIBER_ID_MAX_LENGTH };

const PositiveId = (description: string) => Type.Integer({ minimum: 1, maximum: MAX_ID, description });

export const AppIdParams = Type.Object({ appId: PositiveId('The project (application) id') }, { additionalProperties: false });

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
  { additionalProperties: false },
);
export type RegistrationBody = Static<typeof RegistrationBody>;

export const RegistrationAnswer = Type.Object({
  eventId: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('pending'), Type.Literal('skipped'), Type.Literal('awaiting_first_purchase')]),
});

export const PurchaseBody = Type.Object(
  {
    appId: PositiveId('The project'),
    clientUuid: Type.String({ format: 'uuid', maxLength: 36 }),
    transactionId: Type.String({ minLength: 1, maxLength: 128 }),
    purchaseDate: Type.Optional(Type.String({ format: 'date-time', maxLength: 40 })),
  },
  { additionalProperties: false },
);
export type PurchaseBody = Static<typeof PurchaseBody>;

export const PurchaseAnswer = Type.Object({
  triggered: Type.Boolean(),
  eventId: Type.Optional(Type.String()),
  reason: Type.Optional(
    Type.Union([Type.Literal('not_first_purchase'), Type.Literal('self_service_user'), Type.Literal('awaiting_registration')]),
  ),
});

export const ProjectBody = Type.Object(
  { appId: PositiveId('The platform app id this project receives registrations for'), name: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export type ProjectBody = Static<typeof ProjectBody>;

export const Project = Type.Object({ appId: Type.Integer(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }) });

export const ApiKey = Type.Object({
  id: Type.String(),
  prefix: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const NewApiKey = Type.Object({
  id: Type.String(),
  apiKey: Type.String({ description: 'Shown once: only its hash is stored' }),
});

export const KeyParams = Type.Object(
  { appId: PositiveId('The project'), keyId: Type.String({ pattern: '^key_[0-9a-f]{16}$' }) },
  { additionalProperties: false },
);

export const WebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL the webhooks are POSTed to' }),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);
export type WebhookBody = Static<typeof WebhookBody>;

export const Webhook = Type.Object({
  url: Type.String(),
  enabled: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  signingSecret: Type.Optional(Type.String({ description: 'Returned when the endpoint is first created' })),
});

export const Secret = Type.Object({
  signingSecret: Type.String(),
  previousSecretExpiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
});

export const TestResult = Type.Object({
  success: Type.Boolean(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  durationMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  responseBody: Type.Union([Type.String(), Type.Null()]),
});

export const EventStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivered'),
  Type.Literal('failed'),
  Type.Literal('skipped'),
  Type.Literal('erased'),
]);

export const EventListQuery = Type.Object(
  {
    status: Type.Optional(EventStatus),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^evt_[0-9A-Z]{26}$' })),
  },
  { additionalProperties: false },
);

export const EventParams = Type.Object(
  { appId: PositiveId('The project'), eventId: Type.String({ pattern: '^evt_[0-9A-Z]{26}$' }) },
  { additionalProperties: false },
);

export const EventSummary = Type.Object({
  eventId: Type.String(),
  clientUuid: Type.String(),
  status: EventStatus,
  attemptCount: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const Attempt = Type.Object({
  number: Type.Integer(),
  trigger: Type.Union([Type.Literal('scheduled'), Type.Literal('manual'), Type.Literal('test')]),
  startedAt: Type.String({ format: 'date-time' }),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  success: Type.Union([Type.Boolean(), Type.Null()]),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  responseBody: Type.Union([Type.String(), Type.Null()]),
});

export const EventDetail = Type.Object({
  ...EventSummary.properties,
  payload: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  attempts: Type.Array(Attempt),
});

export const RecoverBody = Type.Object(
  { since: Type.String({ format: 'date-time', maxLength: 40 }) },
  { additionalProperties: false },
);

export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String(),
  errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

export const ListOf = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
