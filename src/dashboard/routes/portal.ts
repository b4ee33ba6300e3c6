/**
 * Opening a portal session (SPEC section 5): `GET /portal/<token>` uses the link once and signs
 * this browser into its project, read-only or full, then redirects at once to the Webhooks page,
 * so the token stays neither on screen nor in the history. The URL is redacted from the logs
 * (logger.ts), and no-referrer keeps it out of the Referer of what follows.
 */
import type { FastifyInstance } from 'fastify';
import { openPortalSession, portalPrincipal } from '../../operations/portal.js';
import type { DashboardContext } from '../context.js';
import { html } from '../html.js';

// No automatic HEAD route: a HEAD (a link checker, a prefetch) must not use the link up.
const route = { config: { access: 'public' as const }, schema: { hide: true }, exposeHeadRoute: false };

export async function portalRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get<{ Params: { token: string } }>('/portal/:token', route, async (request, reply) => {
    void reply.header('referrer-policy', 'no-referrer');
    const link = await openPortalSession(ctx.deps, request.params.token, request.ip);
    if (link === null) {
      // One answer for unknown, expired and used links: the page tells nothing about which.
      return ctx.sendPage(
        reply,
        {
          title: 'Link expired',
          session: null,
          main: html`<h1>This link has expired or was already used</h1>
<p>A portal link opens the dashboard once, for a short time. Open Developer Tools → Webhooks again from the platform's panel to get a new one.</p>`,
        },
        410,
      );
    }
    const session = ctx.sessions.create(portalPrincipal(link), '', ctx.now());
    ctx.startSession(request, reply, session);
    return ctx.redirect(reply, ctx.landing(session));
  });
}
