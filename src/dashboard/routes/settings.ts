/**
 * A project's Settings: API keys (list, create where the session may, revoke), the audit log, and
 * the erasure of a subscriber in two steps. Every change goes through the same operations as the
 * API (createApiKey, revokeApiKey, eraseSubscriber); nothing here decides who may do what.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SUBSCRIBER_ID_MAX_LENGTH } from '../../domain/registration.js';
import { ReghookError } from '../../errors.js';
import { listAuditLog } from '../../operations/audit.js';
import { eraseSubscriber } from '../../operations/deliveries.js';
import { createApiKey, listApiKeys, mayCreateApiKeys, revokeApiKey } from '../../operations/projects.js';
import type { Project } from '../../store/store.js';
import { CONFIRMATION_LIFETIME_MS } from '../confirmation.js';
import { formField, type DashboardContext } from '../context.js';
import type { Flash } from '../flash.js';
import type { Notice } from '../layout.js';
import { maskSubscriberId } from '../personal-data.js';
import { principalOf, type Session } from '../session.js';
import { eraseConfirmView, settingsPath, settingsView } from '../views/settings.js';

const AUDIT_PAGE_SIZE = 25;
const KEY_ID = /^key_[0-9a-f]{16}$/;
const AUDIT_CURSOR = /^[1-9][0-9]{0,14}$/;
const route = { config: { access: 'public' as const }, schema: { hide: true } };

type AppIdRoute = { Params: { appId: string } };

interface PageState {
  flash?: Flash | null;
  notices?: Notice[];
  eraseError?: string | null;
}

/** Why a typed subscriberId cannot be erased, or null when it can (the same ids ingest accepts). */
function subscriberIdProblem(value: string): string | null {
  if (value === '') return 'Enter the subscriber id (required).';
  if (Array.from(value).length > SUBSCRIBER_ID_MAX_LENGTH) return `A subscriber id has at most ${SUBSCRIBER_ID_MAX_LENGTH} characters.`;
  return null;
}

export async function settingsPageRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const crumbs = (session: Session, project: Project, ...rest: { label: string; href?: string }[]) => [
    ...(session.kind === 'admin' ? [{ label: 'Projects', href: '/projects' }] : []),
    { label: project.name, href: `/projects/${project.appId}/webhooks` },
    ...rest,
  ];

  async function renderPage(request: FastifyRequest, reply: FastifyReply, session: Session, project: Project, state: PageState, status = 200) {
    const rawCursor = request.method === 'GET' ? (request.query as { cursor?: string }).cursor : undefined;
    const cursor = rawCursor !== undefined && AUDIT_CURSOR.test(rawCursor) ? Number(rawCursor) : null;
    const keys = await listApiKeys(ctx.deps, project.appId);
    const audit = await listAuditLog(ctx.deps, project.appId, { limit: AUDIT_PAGE_SIZE, cursor });
    const flash = state.flash ?? null;
    return ctx.sendPage(
      reply,
      {
        title: `Settings · ${project.name}`,
        session,
        crumbs: crumbs(session, project, { label: 'Settings' }),
        notices: [...(flash?.notices ?? []), ...(state.notices ?? [])],
        main: settingsView({
          project,
          csrf: ctx.formToken(session),
          keys,
          sessionKeyId: session.kind === 'project' ? (session.keyId ?? null) : null,
          mayCreateKeys: mayCreateApiKeys(principalOf(session)),
          newKey: flash?.apiKey ?? null,
          audit: { entries: audit.data, nextCursor: audit.nextCursor, cursor },
          erase: { error: state.eraseError ?? null },
        }),
      },
      status,
    );
  }

  /** The session and project of a POST, or null once a 403/404/redirect has been sent. */
  async function postTarget(request: FastifyRequest<AppIdRoute>, reply: FastifyReply) {
    const session = await ctx.guardPost(request, reply);
    if (session === null) return null;
    const project = await ctx.projectFor(session, request.params.appId);
    if (project === null) {
      ctx.notFound(reply, session);
      return null;
    }
    return { session, project };
  }

  app.get<AppIdRoute & { Querystring: { cursor?: string } }>('/projects/:appId/settings', route, async (request, reply) => {
    const session = await ctx.requireSession(request, reply);
    if (session === null) return reply;
    const project = await ctx.projectFor(session, request.params.appId);
    if (project === null) return ctx.notFound(reply, session);
    return renderPage(request, reply, session, project, { flash: ctx.takeFlash(request, reply, session) });
  });

  app.post<AppIdRoute>('/projects/:appId/settings/api-keys', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    let created: Awaited<ReturnType<typeof createApiKey>>;
    try {
      created = await createApiKey(ctx.deps, ctx.actor(request, session), project.appId);
    } catch (error) {
      if (error instanceof ReghookError && error.code === 'REGHOOK_ADMIN_ONLY') {
        return ctx.forbidden(
          reply,
          session,
          'Only the platform admin can create API keys: a project key may list and revoke keys, never create one.',
        );
      }
      throw error;
    }
    const flash: Flash = {
      notices: [{ tone: 'success', text: `API key ${created.id} created. Copy it below: it is not shown again.` }],
      apiKey: { id: created.id, value: created.apiKey },
    };
    return ctx.redirect(reply, `${settingsPath(project.appId)}#keys`, { session, value: flash });
  });

  app.post<{ Params: { appId: string; keyId: string } }>('/projects/:appId/settings/api-keys/:keyId/revoke', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    const { keyId } = request.params;
    if (!KEY_ID.test(keyId)) return ctx.notFound(reply, session);
    let flash: Flash;
    try {
      await revokeApiKey(ctx.deps, ctx.actor(request, session), project.appId, keyId);
      flash = { notices: [{ tone: 'success', text: `API key ${keyId} revoked: requests with it are refused from now on.` }] };
    } catch (error) {
      if (!(error instanceof ReghookError && error.code === 'REGHOOK_API_KEY_NOT_FOUND')) throw error;
      flash = { notices: [{ tone: 'error', text: `There is no active key ${keyId} in this project (it may be revoked already); nothing changed.` }] };
    }
    // Revoking the session's own key ends the session: the redirect then lands on the sign-in page.
    return ctx.redirect(reply, `${settingsPath(project.appId)}#keys`, { session, value: flash });
  });

  // Step 1: what was typed is checked and sealed into the confirmation form; nothing is erased yet.
  app.post<AppIdRoute>('/projects/:appId/settings/erase', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    const subscriberId = formField(request.body, 'subscriberId') ?? '';
    const problem = subscriberIdProblem(subscriberId);
    if (problem !== null) {
      return renderPage(request, reply, session, project, { eraseError: problem, notices: [{ tone: 'error', text: 'Nothing was erased.' }] }, 422);
    }
    return ctx.sendPage(reply, {
      title: `Confirm erasure · ${project.name}`,
      session,
      crumbs: crumbs(session, project, { label: 'Settings', href: settingsPath(project.appId) }, { label: 'Confirm erasure' }),
      main: eraseConfirmView({
        project,
        csrf: session.csrf,
        confirmation: ctx.confirmations.seal(session, 'erase-subscriber', subscriberId, ctx.now()),
        masked: maskSubscriberId(subscriberId),
        validMinutes: CONFIRMATION_LIFETIME_MS / 60_000,
      }),
    });
  });

  // Step 2: the sealed subscriberId of step 1 is erased.
  app.post<AppIdRoute>('/projects/:appId/settings/erase/confirm', route, async (request, reply) => {
    const target = await postTarget(request, reply);
    if (target === null) return reply;
    const { session, project } = target;
    const subscriberId = ctx.confirmations.open(session, 'erase-subscriber', formField(request.body, 'confirmation'), ctx.now());
    if (subscriberId === null) {
      return ctx.redirect(reply, `${settingsPath(project.appId)}#erase`, {
        session,
        value: { notices: [{ tone: 'error', text: 'The confirmation expired or was not valid; nothing was erased. Enter the subscriber id again.' }] },
      });
    }
    const erased = await eraseSubscriber(ctx.deps, ctx.actor(request, session), project.appId, subscriberId);
    const masked = maskSubscriberId(subscriberId);
    const text =
      erased.registrations === 0
        ? `No registration of subscriber ${masked} was found in this project; nothing was erased.`
        : `Subscriber ${masked} erased: ${erased.registrations} registration${erased.registrations === 1 ? '' : 's'} and ${erased.events} event${erased.events === 1 ? '' : 's'} (payloads, response bodies); webhooks still owed to them are cancelled.`;
    return ctx.redirect(reply, `${settingsPath(project.appId)}#erase`, {
      session,
      value: { notices: [{ tone: erased.registrations === 0 ? 'info' : 'success', text }] },
    });
  });
}
