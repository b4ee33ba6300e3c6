/**
 * The Fastify plugin, written against the few members it uses so that the SDK does not depend on
 * fastify at runtime or for its types.
 */
import { processDelivery, type ReceiverOptions, resolveReceiver, type WebhookEventHandler } from './delivery.js';

export interface FastifyWebhookOptions extends ReceiverOptions {
  /** The signing secret, or several while a rotated-out one is still valid. */
  secret: string | readonly string[];
  /** Called once per verified, not-yet-seen event; throw to answer 500 so reghook retries. */
  onEvent: WebhookEventHandler;
  /** Route path, relative to the register() prefix. Default '/webhooks'. */
  path?: string;
}

/** The parts of a Fastify request the plugin uses. */
export interface FastifyLikeRequest {
  body: unknown;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The parts of a Fastify reply the plugin uses. */
export interface FastifyLikeReply {
  code(statusCode: number): FastifyLikeReply;
  send(payload?: unknown): FastifyLikeReply;
}

/** The parts of a Fastify instance the plugin uses. */
export interface FastifyLikeInstance {
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    contentType: string,
    opts: { parseAs: 'buffer'; bodyLimit?: number },
    parser: (request: unknown, body: Buffer, done: (error: Error | null, body?: unknown) => void) => void,
  ): void;
  post(path: string, handler: (request: FastifyLikeRequest, reply: FastifyLikeReply) => Promise<unknown>): unknown;
}

/**
 * Fastify plugin adding a `POST path` route that verifies each webhook and calls `onEvent` once per
 * `webhook-id`; answers as createNodeHandler does. Inside the plugin's own encapsulation scope every
 * body is kept as the raw Buffer, so the application's JSON parser elsewhere is untouched.
 *
 * @example
 * ```ts
 * await app.register(fastifyWebhook, { secret, path: '/webhooks', onEvent: (event) => saveUser(event) });
 * ```
 */
export async function fastifyWebhook(scope: FastifyLikeInstance, options: FastifyWebhookOptions): Promise<void> {
  const receiver = resolveReceiver(options.secret, options);
  const { onEvent } = options;
  if (typeof onEvent !== 'function') throw new TypeError('fastifyWebhook needs an onEvent function');

  // register() gives this plugin a child context: these parsers apply to its route only.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: receiver.maxBodyBytes }, (_request, body, done) => {
    done(null, body);
  });
  scope.post(options.path ?? '/webhooks', async (request, reply) => {
    // No body at all (no content-type, nothing sent) leaves request.body undefined: verify zero bytes.
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const response = await processDelivery(receiver, body, request.headers, onEvent);
    return reply.code(response.status).send(response.body);
  });
}
