/**
 * The Fastify application factory: routes, validation, authentication and problem+json errors.
 * It never listens; the caller (cli.ts or a test using inject()) decides.
 */
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import type { Logger } from 'pino';
import { DATABASE_RETRY_AFTER_SECONDS, errorCode, isDatabaseUnavailable, ReghookError } from '../errors.js';
import { LogThrottle } from '../logger.js';
import { packageVersion } from '../package-info.js';
import type { Principal } from '../auth/authenticator.js';
import { documentRoute, documentBase, registerComponents } from './openapi.js';
import { sendProblem } from './problem.js';
import { SUBSCRIBER_ID_MAX_LENGTH } from './schemas.js';
import { compileValidator, fieldErrors, nulCharacterPath } from './validation.js';
import { FixedWindowLimiter } from '../auth/rate-limit.js';
import { ingestRoutes } from './routes/ingest.js';
import { projectRoutes } from './routes/projects.js';
import { webhookRoutes } from './routes/webhook.js';
import { eventRoutes } from './routes/events.js';
import { streamRoutes } from './routes/stream.js';
import { operationsRoutes } from './routes/operations.js';
import { governanceRoutes } from './routes/governance.js';
import { operatorEventRoutes } from './routes/operator-events.js';

/** Body size limit of every route; ingest bodies are far smaller. */
export const BODY_LIMIT_BYTES = 16 * 1024;
/** At most one error line per this long while the database keeps refusing. */
const DATABASE_ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * The longest path parameter the router matches, measured after percent-decoding in UTF-16 units,
 * so that a subscriberId of the most code points its schema allows (each up to two units) is
 * erasable. Longer segments answer a validation problem (Fastify's default: 100, and a bare 414).
 */
export const MAX_PARAM_LENGTH = 2 * SUBSCRIBER_ID_MAX_LENGTH;

import type { AppDeps } from './http.js';

export type { AppDeps } from './http.js';

/** Who may call a route: set per route as `config: { access }`. */
export type Access = 'public' | 'admin' | 'project';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  Logger,
  TypeBoxTypeProvider
>;

export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    // Only the listed proxies' X-Forwarded-For decides request.ip (the auth budget's key).
    trustProxy: deps.trustProxy !== undefined && deps.trustProxy.length > 0 ? [...deps.trustProxy] : false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error, request, reply) => {
      switch (error.code) {
        case 'FST_ERR_MAX_PARAM_LENGTH':
          return sendProblem(reply, 'REGHOOK_VALIDATION', `a path segment is longer than ${MAX_PARAM_LENGTH} characters`, [
            { path: '/params', message: `must not be longer than ${MAX_PARAM_LENGTH} characters` },
          ]);
        case 'FST_ERR_BAD_URL':
          return sendProblem(reply, 'REGHOOK_VALIDATION', 'the path is not validly percent-encoded', [
            { path: '/params', message: 'is not validly percent-encoded' },
          ]);
        default:
          request.log.error({ err: error }, 'request failed before routing');
          return sendProblem(reply, 'REGHOOK_INTERNAL', 'an internal error occurred; it has been logged');
      }
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(compileValidator);
  // Only JSON bodies: anything else is a 415, not a string the schema then rejects.
  app.removeContentTypeParser(['text/plain']);
  // An empty body sent as application/json (curl -X POST -H 'content-type: application/json')
  // is no body; any other keeps Fastify's parser and its prototype-poisoning refusal.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });

  const auth = deps.authenticator;
  app.decorateRequest('principal', null);
  const keyRequests = new FixedWindowLimiter(deps.clock, deps.keyRateLimitPerMinute ?? 1200, 60_000);
  const tooMany = (retryAfter: number, detail: string) =>
    new ReghookError('REGHOOK_RATE_LIMITED', detail, { retryAfterSeconds: retryAfter });

  // Authenticate before the body is even parsed; check the project scope before validation, so
  // another project's routes answer 404 whatever the request carries.
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const principal = await auth.authenticate(request);
    if (principal.kind === 'project') {
      const wait = keyRequests.hit(principal.keyId);
      if (wait > 0) throw tooMany(wait, 'this API key sent too many requests; slow down');
    }
    request.principal = principal;
    if (access === 'admin' && principal.kind !== 'admin') {
      throw new ReghookError('REGHOOK_ADMIN_ONLY', 'this route needs the admin token, not a project key');
    }
  });
  app.addHook('preValidation', async (request) => {
    const principal = request.principal;
    const appId = (request.params as { appId?: unknown } | undefined)?.appId;
    if (principal?.kind === 'project' && appId !== undefined && String(appId) !== String(principal.appId)) {
      throw new ReghookError('REGHOOK_PROJECT_NOT_FOUND', `project ${String(appId)} not found`);
    }
  });
  // SPEC section 5: a U+0000 in any string of any route is refused before anything reads it
  // (PostgreSQL cannot store it, SQLite would), so both stores answer alike. Answered here, not
  // thrown, so the dashboard's routes answer the same problem as the API's.
  app.addHook('preValidation', async (request, reply) => {
    const path = nulCharacterPath({ params: request.params, query: request.query, body: request.body });
    if (path === undefined) return;
    return sendProblem(reply, 'REGHOOK_VALIDATION', `invalid request: ${path}`, [{ path, message: 'must not contain U+0000' }]);
  });

  const databaseErrors = new LogThrottle(deps.clock, DATABASE_ERROR_LOG_INTERVAL_MS);
  app.setErrorHandler((error: FastifyError | ReghookError, request, reply) => {
    if (error instanceof ReghookError) {
      if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
      return sendProblem(reply, error.code, error.message, error.errors);
    }
    if (error.validation) {
      const errors = fieldErrors(error.validation, error.validationContext);
      const names = errors.map((e) => e.path).join(', ');
      return sendProblem(reply, 'REGHOOK_VALIDATION', `invalid request: ${names}`, errors);
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(reply, 'REGHOOK_BODY_TOO_LARGE', `the body is larger than ${BODY_LIMIT_BYTES} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(reply, 'REGHOOK_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendProblem(reply, 'REGHOOK_VALIDATION', 'the body is not valid JSON', [{ path: '/', message: 'is not valid JSON' }]);
    }
    if (error.statusCode === 400 && error instanceof SyntaxError) {
      return sendProblem(reply, 'REGHOOK_VALIDATION', 'the body is not valid JSON', [{ path: '/', message: 'is not valid JSON' }]);
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(reply, 'REGHOOK_VALIDATION', error.message);
    }
    if (isDatabaseUnavailable(error)) {
      // Only code and message: nothing else of a database error reaches the log (row values).
      databaseErrors.report((suppressed) =>
        request.log.error({ error: { code: errorCode(error), message: error.message }, suppressed }, 'the database cannot be written; answering 503'),
      );
      void reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
      return sendProblem(reply, 'REGHOOK_NOT_READY', 'the database cannot take writes right now (full, read-only or unreachable); retry later');
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, 'REGHOOK_INTERNAL', 'an internal error occurred; it has been logged');
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 'REGHOOK_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));

  await app.register(swagger, {
    openapi: documentBase(packageVersion) as FastifyDynamicSwaggerOptions['openapi'],
    // Named schemas keep their names (`$id`) as components; any other `$id` gets a numbered one.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: documentRoute as unknown as FastifyDynamicSwaggerOptions['transform'],
  });
  await registerComponents(app);
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(operationsRoutes, deps);
  await app.register(ingestRoutes, deps);
  await app.register(projectRoutes, deps);
  await app.register(webhookRoutes, deps);
  await app.register(eventRoutes, deps);
  await app.register(streamRoutes, deps);
  await app.register(governanceRoutes, deps);
  await app.register(operatorEventRoutes, deps);
  return app;
}
