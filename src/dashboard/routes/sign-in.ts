/** Signing in and out, and the admin's project list. */
import type { FastifyInstance } from 'fastify';
import { ReghookError } from '../../errors.js';
import { hashToken } from '../../secrets/tokens.js';
import { SIGN_IN_MESSAGES, formField, type DashboardContext, type SignInMessage } from '../context.js';
import { csrfMatches } from '../session.js';
import { projectsView, signInView } from '../views/sign-in.js';

const PROJECTS_PER_PAGE = 50;
const route = { config: { access: 'public' as const }, schema: { hide: true } };

export async function signInRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {

  app.get<{ Querystring: { m?: string } }>('/', route, async (request, reply) => {
    const session = await ctx.readSession(request, reply);
    if (typeof session === 'object') return ctx.redirect(reply, ctx.landing(session));
    const code = request.query.m;
    const message = code !== undefined && Object.hasOwn(SIGN_IN_MESSAGES, code) ? SIGN_IN_MESSAGES[code as SignInMessage] : null;
    return ctx.sendPage(reply, {
      title: 'Sign in',
      session: null,
      notices: message !== null ? [{ tone: 'info', text: message }] : [],
      main: signInView(null),
    });
  });

  app.post('/sign-in', route, async (request, reply) => {
    // No session yet, so no CSRF token: the Origin check alone stops cross-site sign-in.
    if (!ctx.isSameOrigin(request)) {
      return ctx.forbidden(reply, null, 'This request did not come from a page of this dashboard (its Origin does not match).');
    }
    const token = formField(request.body, 'token')?.trim() ?? '';
    const refuse = (status: number, error: string) => ctx.sendPage(reply, { title: 'Sign in', session: null, main: signInView(error) }, status);
    if (token === '') return refuse(422, 'Enter a project API key or the admin token.');
    if (!/^[\x21-\x7e]{1,512}$/.test(token)) return refuse(401, 'That key or token is not valid (unknown or revoked).');
    let principal;
    try {
      principal = await ctx.deps.authenticator.principalFor(token, request.ip);
    } catch (error) {
      if (error instanceof ReghookError && error.code === 'REGHOOK_UNAUTHORIZED') {
        return refuse(401, 'That key or token is not valid (unknown or revoked).');
      }
      if (error instanceof ReghookError && error.code === 'REGHOOK_RATE_LIMITED') {
        void reply.header('retry-after', String(error.retryAfterSeconds ?? 60));
        return refuse(429, 'Too many failed sign-ins from this address; wait a minute and try again.');
      }
      throw error;
    }
    const session = ctx.sessions.create(principal, hashToken(token), ctx.now());
    ctx.startSession(request, reply, session);
    return ctx.redirect(reply, ctx.landing(session));
  });

  app.post('/sign-out', route, async (request, reply) => {
    if (!ctx.isSameOrigin(request)) {
      return ctx.forbidden(reply, null, 'This request did not come from a page of this dashboard (its Origin does not match).');
    }
    const session = await ctx.readSession(request, reply);
    if (typeof session === 'object' && !csrfMatches(session, formField(request.body, '_csrf'))) {
      return ctx.forbidden(reply, session, 'The form was stale or forged (its CSRF token does not match your session).');
    }
    ctx.endSession(request, reply);
    return ctx.redirect(reply, '/?m=signed-out');
  });

  app.get<{ Querystring: { after?: string } }>('/projects', route, async (request, reply) => {
    const session = await ctx.requireSession(request, reply);
    if (session === null) return reply;
    if (session.kind !== 'admin') return ctx.redirect(reply, ctx.landing(session));
    const after = request.query.after !== undefined && /^[0-9]{1,10}$/.test(request.query.after) ? Number(request.query.after) : null;
    const rows = await ctx.deps.store.listProjects(PROJECTS_PER_PAGE + 1, after);
    const page = rows.slice(0, PROJECTS_PER_PAGE);
    const next = rows.length > PROJECTS_PER_PAGE ? page.at(-1)!.appId : null;
    return ctx.sendPage(reply, {
      title: 'Projects',
      session,
      crumbs: [{ label: 'Projects' }],
      notices: [],
      main: projectsView(page, next, after === null),
    });
  });
}
