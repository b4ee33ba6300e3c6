/**
 * Projects and their API keys. Creating and listing projects needs the admin token. A project key
 * may list and revoke its own project's keys but never create one: a leaked key must not be able
 * to mint a successor that survives its revocation (SPEC section 5).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { createPortalSession } from '../../operations/portal.js';
import { createApiKey, createProject, listApiKeys, requireProject, revokeApiKey } from '../../operations/projects.js';
import { listProjects, webhookSummary } from '../../operations/stats.js';
import type { ApiKeyRecord, ProjectOverview } from '../../store/store.js';
import { actorOf, iso, type AppDeps } from '../http.js';
import {
  ApiKeyList,
  AppIdParams,
  KeyParams,
  NewApiKey,
  NewPortalSession,
  NewProject,
  PortalSessionBody,
  ProjectBody,
  ProjectDetail,
  ProjectList,
  ProjectListQuery,
} from '../schemas.js';

const apiKeyView = (k: ApiKeyRecord) => ({ id: k.id, prefix: k.prefix, createdAt: iso(k.createdAt), revokedAt: iso(k.revokedAt) });

const webhookView = (webhook: ProjectOverview['webhook']) => {
  const summary = webhookSummary(webhook);
  return summary === null ? null : { ...summary, failingSince: iso(summary.failingSince) };
};

export async function projectRoutes(instance: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = deps;

  app.post(
    '/v1/projects',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'createProject',
        tags: ['projects'],
        summary: 'Create a project; answers its first API key (shown once)',
        description: 'The `appId` is the platform app this project receives registrations for. Only the hash of the API key is kept.',
        body: ProjectBody,
        response: { 201: NewProject },
      },
    },
    async (request, reply) => {
      const { project, apiKeyId, apiKey } = await createProject(deps, actorOf(request), request.body);
      return reply.code(201).send({ appId: project.appId, name: project.name, createdAt: iso(project.createdAt), apiKeyId, apiKey });
    },
  );

  app.get(
    '/v1/projects',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'listProjects',
        tags: ['projects'],
        summary: 'List projects, with the health of their endpoints',
        description:
          'Cursor-paginated: pass `nextCursor` back as `cursor`. By appId; with `health=failing`, only the projects whose endpoint is failing, longest failing first (by `failingSince`).',
        querystring: ProjectListQuery,
        response: { 200: ProjectList },
      },
    },
    async (request) => {
      const { page, nextCursor } = await listProjects(store, {
        limit: request.query.limit ?? 50,
        cursor: request.query.cursor,
        failing: request.query.health === 'failing',
      });
      return { data: page.map((p) => ({ appId: p.appId, name: p.name, createdAt: iso(p.createdAt), webhook: webhookView(p.webhook) })), nextCursor };
    },
  );

  app.get(
    '/v1/projects/:appId',
    {
      config: { access: 'project' },
      schema: {
        operationId: 'getProject',
        tags: ['projects'],
        summary: "A project, its endpoint's health and its API keys (never the keys themselves)",
        description: 'A project key reaches its own project only; another appId answers 404, exactly like one that does not exist.',
        params: AppIdParams,
        response: { 200: ProjectDetail },
      },
    },
    async (request) => {
      const project = await requireProject(store, request.params.appId);
      const [keys, webhook] = await Promise.all([listApiKeys(deps, project.appId), store.getEndpointHealth(project.appId)]);
      return {
        appId: project.appId,
        name: project.name,
        createdAt: iso(project.createdAt),
        webhook: webhookView(webhook),
        apiKeys: keys.map(apiKeyView),
      };
    },
  );

  app.get(
    '/v1/projects/:appId/api-keys',
    {
      config: { access: 'project' },
      schema: {
        operationId: 'listApiKeys',
        tags: ['projects'],
        summary: "The project's API keys, revoked ones included (never the keys themselves)",
        description: 'A project holds a handful of keys: one page, always the last (`nextCursor` is null).',
        params: AppIdParams,
        response: { 200: ApiKeyList },
      },
    },
    async (request) => {
      const keys = await listApiKeys(deps, request.params.appId);
      // A project holds a handful of keys: one page, always the last.
      return { data: keys.map(apiKeyView), nextCursor: null };
    },
  );

  app.post(
    '/v1/projects/:appId/api-keys',
    {
      // 'project', not 'admin': another project's key must still meet a 404 (checked before the
      // handler), while a key of this project meets the 403 below.
      config: { access: 'project' },
      schema: {
        operationId: 'createApiKey',
        tags: ['projects'],
        summary: 'Create an API key (shown once); needs the admin token',
        description: 'A project key is refused (403): a leaked key must not be able to mint a successor that survives its revocation.',
        params: AppIdParams,
        response: { 201: NewApiKey },
      },
    },
    async (request, reply) => {
      return reply.code(201).send(await createApiKey(deps, actorOf(request), request.params.appId));
    },
  );

  app.post(
    '/v1/projects/:appId/portal-sessions',
    {
      // 'project', not 'admin', for the same reason as creating a key: another project's key meets 404.
      config: { access: 'project' },
      // Every field is optional, so is the body: none is an empty object.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        operationId: 'createPortalSession',
        tags: ['projects'],
        summary: "Mint a portal session link: it signs a browser into the project's dashboard once, without a key; needs the admin token",
        description:
          'The link works once, until `expiresAt` (`expiresIn`, default 10 minutes, at most 24 hours), and opens a dashboard session ' +
          'of this project: full (what a project key may do, and creating API keys) or read-only (everything shown, nothing changed). ' +
          'It is built on REGHOOK_PUBLIC_URL and may be the `src` of an iframe on a REGHOOK_DASHBOARD_FRAME_ANCESTORS origin. ' +
          'Only its hash is stored; minting and each use are audited, never the link. A project key is refused (403).',
        params: AppIdParams,
        body: PortalSessionBody,
        response: { 201: NewPortalSession },
      },
    },
    async (request, reply) => {
      const baseUrl = deps.publicUrl?.() ?? '';
      const minted = await createPortalSession(deps, actorOf(request), request.params.appId, { ...request.body, baseUrl });
      return reply.code(201).send({ ...minted, expiresAt: iso(minted.expiresAt) });
    },
  );

  app.delete(
    '/v1/projects/:appId/api-keys/:keyId',
    {
      config: { access: 'project' },
      schema: {
        operationId: 'revokeApiKey',
        tags: ['projects'],
        summary: 'Revoke an API key',
        description: "A project key may revoke its own project's keys, itself included; a revoked key answers 401 from then on.",
        params: KeyParams,
      },
    },
    async (request, reply) => {
      await revokeApiKey(deps, actorOf(request), request.params.appId, request.params.keyId);
      return reply.code(204).send();
    },
  );
}
