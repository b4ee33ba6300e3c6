/**
 * The dashboard (SPEC §6): server-rendered pages at `/`, served by the API process. An
 * encapsulated plugin: form bodies and cookies are understood here only (the JSON API keeps
 * answering 415 to forms), and its routes authenticate by session cookie, not bearer token.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance } from 'fastify';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../errors.js';
import { DashboardContext, type DashboardDeps } from './context.js';
import { html } from './html.js';
import { securityHeaders } from './layout.js';
import { portalRoutes } from './routes/portal.js';
import { eventPageRoutes } from './routes/events.js';
import { settingsPageRoutes } from './routes/settings.js';
import { signInRoutes } from './routes/sign-in.js';
import { webhookPageRoutes } from './routes/webhooks.js';

export async function dashboardRoutes(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  await app.register(formbody);
  await app.register(cookie);
  const ctx = new DashboardContext(deps);

  const headers = securityHeaders(deps.frameAncestors);
  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(headers);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isDatabaseUnavailable(error)) {
      // Not logged per request: /readyz and the API log (rate-limited) tell the operator.
      void reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
      const main = html`<h1>Temporarily unavailable</h1><p>The database cannot take changes right now. Try again in a few seconds.</p><p><a href="/">Back to the dashboard</a></p>`;
      return ctx.sendPage(reply, { title: 'Temporarily unavailable', session: null, main }, 503);
    }
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'dashboard request failed');
    const message =
      status === 413
        ? 'The form was too large.'
        : status === 415
          ? 'Send the form as a normal HTML form (application/x-www-form-urlencoded).'
          : status === 500
            ? 'Something went wrong on our side; it has been logged. Try again.'
            : 'The request could not be understood.';
    return ctx.sendPage(reply, { title: 'Error', session: null, main: html`<h1>Error</h1><p>${message}</p><p><a href="/">Back to the dashboard</a></p>` }, status);
  });

  await app.register(signInRoutes, ctx);
  await app.register(portalRoutes, ctx);
  await app.register(webhookPageRoutes, ctx);
  await app.register(eventPageRoutes, ctx);
  await app.register(settingsPageRoutes, ctx);
}
