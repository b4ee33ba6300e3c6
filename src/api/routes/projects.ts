/**
 * Projects and their API keys. Creating and listing projects needs the admin token. A project key
 * may list and revoke its own project's keys but never create one: a leaked key must not be able
 * to mint a successor that survives its revocation (SPEC section 5).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ReghookError } from '../../errors.js';
import { requireAdmin } from '../auth.js';
import { generateApiKey, hashToken } from '../../secrets/tokens.js';
import type { ApiKeyRecord, Store } from '../../store/store.js';
import { iso, type AppDeps } from '../app.js';
import { recordAudit } from '../audit.js';
import { ApiKey, AppIdParams, KeyParams, ListOf, NewApiKey, Project, ProjectBody } from '../schemas.js';

/** Creates and stores a key for a project; the plaintext is returned once and never stored. */
async function issueKey(store: Store, appId: number, now: number): Promise<{ id: string; apiKey: string }> {
  const { id, key } = generateApiKey();
  await store.addApiKey({ id, appId, hash: hashToken(key), prefix: key.slice(0, 8), createdAt: now, revokedAt: null });
  return { id, apiKey: key };
}

const apiKeyView = (k: ApiKeyRecord) => ({ id: k.id, prefix: k.prefix, createdAt: iso(k.createdAt), revokedAt: iso(k.revokedAt) });

export async function projectRoutes(instance: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock } = deps;

  const projectOr404 = async (appId: number) => {
    const project = await store.getProject(appId);
    if (!project) throw new ReghookError('REGHOOK_NOT_FOUND', `project ${appId} not found`);
    return project;
  };

  app.post(
    '/v1/projects',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['projects'],
        summary: 'Create a project; answers its first API key (shown once)',
        body: ProjectBody,
        response: { 201: Type.Object({ ...Project.properties, apiKeyId: Type.String(), apiKey: Type.String() }) },
      },
    },
    async (request, reply) => {
      const now = clock.now();
      const { appId, name } = request.body;
      if ((await store.createProject({ appId, name, createdAt: now })) === 'exists') {
        throw new ReghookError('REGHOOK_CONFLICT', `a project with appId ${appId} exists`, {
          errors: [{ path: '/appId', message: 'is taken' }],
        });
      }
      const key = await issueKey(store, appId, now);
      await recordAudit(store, request, appId, 'project.created', { name, apiKeyId: key.id }, now);
      return reply.code(201).send({ appId, name, createdAt: iso(now), apiKeyId: key.id, apiKey: key.apiKey });
    },
  );

  app.get(
    '/v1/projects',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['projects'],
        summary: 'List projects',
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
            cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ListOf(Project) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const rows = await store.listProjects(limit + 1, request.query.cursor ? Number(request.query.cursor) : null);
      const page = rows.slice(0, limit);
      return {
        data: page.map((p) => ({ appId: p.appId, name: p.name, createdAt: iso(p.createdAt) })),
        nextCursor: rows.length > limit ? String(page.at(-1)!.appId) : null,
      };
    },
  );

  app.get(
    '/v1/projects/:appId',
    {
      config: { access: 'project' },
      schema: {
        tags: ['projects'],
        summary: 'A project and its API keys (never the keys themselves)',
        params: AppIdParams,
        response: { 200: Type.Object({ ...Project.properties, apiKeys: Type.Array(ApiKey) }) },
      },
    },
    async (request) => {
      const project = await projectOr404(request.params.appId);
      const keys = await store.listApiKeys(project.appId);
      return {
        appId: project.appId,
        name: project.name,
        createdAt: iso(project.createdAt),
        apiKeys: keys.map(apiKeyView),
      };
    },
  );

  app.get(
    '/v1/projects/:appId/api-keys',
    {
      config: { access: 'project' },
      schema: {
        tags: ['projects'],
        summary: "The project's API keys, revoked ones included (never the keys themselves)",
        params: AppIdParams,
        response: { 200: ListOf(ApiKey) },
      },
    },
    async (request) => {
      const project = await projectOr404(request.params.appId);
      const keys = await store.listApiKeys(project.appId);
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
        tags: ['projects'],
        summary: 'Create an API key (shown once); needs the admin token',
        params: AppIdParams,
        response: { 201: NewApiKey },
      },
    },
    async (request, reply) => {
      requireAdmin(request.principal!, 'creating an API key needs the admin token; a project key may list and revoke keys');
      const project = await projectOr404(request.params.appId);
      const now = clock.now();
      const key = await issueKey(store, project.appId, now);
      await recordAudit(store, request, project.appId, 'api_key.created', { apiKeyId: key.id }, now);
      return reply.code(201).send(key);
    },
  );

  app.delete(
    '/v1/projects/:appId/api-keys/:keyId',
    {
      config: { access: 'project' },
      schema: { tags: ['projects'], summary: 'Revoke an API key', params: KeyParams },
    },
    async (request, reply) => {
      const { appId, keyId } = request.params;
      const now = clock.now();
      if (!(await store.revokeApiKey(appId, keyId, now))) {
        throw new ReghookError('REGHOOK_NOT_FOUND', `no active key ${keyId} in project ${appId}`);
      }
      await recordAudit(store, request, appId, 'api_key.revoked', { apiKeyId: keyId }, now);
      return reply.code(204).send();
    },
  );
}
