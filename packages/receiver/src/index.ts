/**
 * reghook/receiver: verify and receive reghook's "user registered" webhooks (Standard Webhooks v1).
 * Node built-ins only; the adapters use no framework at runtime.
 */
export { WebhookVerificationError, type WebhookVerificationErrorCode } from './errors.js';
export {
  type EventValidationIssue,
  type EventValidationResult,
  type RegisteredUserEvent,
  registerDateOf,
  registeredUserEventSchema,
  validateRegisteredUserEvent,
} from './event.js';
export {
  DEFAULT_TOLERANCE_SECONDS,
  type RawBody,
  type VerifiedWebhook,
  type VerifyOptions,
  type WebhookHeaders,
  type WebhookMeta,
  verifyWebhook,
  verifyWebhookMessage,
} from './verify.js';
export {
  createDeduper,
  DEFAULT_DEDUPE_MAX,
  DEFAULT_DEDUPE_TTL_MS,
  type DeduperOptions,
  type InMemoryDeduper,
  type WebhookDeduper,
} from './dedupe.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  type ReceiverOptions,
  type ReceiverResponseBody,
  type WebhookEventHandler,
} from './delivery.js';
export { createNodeHandler } from './node.js';
export { type ExpressLikeNext, type ExpressLikeRequest, type ExpressLikeResponse, expressWebhook } from './express.js';
export {
  type FastifyLikeInstance,
  type FastifyLikeReply,
  type FastifyLikeRequest,
  type FastifyWebhookOptions,
  fastifyWebhook,
} from './fastify.js';
