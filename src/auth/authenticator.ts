/**
 * Bearer authentication: the admin token (the platform) or a project API key (a tenant). A key
 * reaching another project's routes gets 404, never 403, so appIds cannot be probed.
 */
import type { FastifyRequest } from 'fastify';
import { ReghookError } from '../errors.js';
import type { FixedWindowLimiter } from './rate-limit.js';
import { hashesEqual, hashToken } from '../secrets/tokens.js';
import type { Store } from '../store/store.js';

/** The admin token's hash as this process knows it now (it changes when the token is rotated). */
export interface AdminTokenSource {
  current(): Promise<string>;
}

/**
 * Who asks. `portal` is a dashboard session opened through a portal session link (the API never
 * authenticates one): it reaches its project only, and a read-only one changes nothing.
 */
export type Principal =
  | { kind: 'admin' }
  | { kind: 'project'; appId: number; keyId: string }
  | { kind: 'portal'; appId: number; portalSessionId: string; readOnly: boolean };

export class Authenticator {
  /**
   * @param failures counts failed authentications per client address. An address over its limit
   *   gets 429 for every further bad or missing credential, but a correct credential is always
   *   accepted: behind a NAT or a proxy, others' guessing must not lock out the platform.
   *   Shared by the API and the dashboard.
   */
  constructor(
    private readonly store: Store,
    private readonly adminToken: AdminTokenSource,
    private readonly failures: FixedWindowLimiter,
  ) {}

  /** The caller of an API request, or a 401 / 429 ReghookError. */
  async authenticate(request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
    if (!match) {
      this.refuseIfBlocked(request.ip);
      throw new ReghookError('REGHOOK_UNAUTHORIZED', 'send Authorization: Bearer <admin token or project API key>');
    }
    return this.principalFor(match[1]!, request.ip);
  }

  /**
   * The principal a raw token stands for, whatever the address's budget; a wrong token counts
   * against the address and is a 401, or a 429 once the address is over its limit.
   */
  async principalFor(token: string, clientAddress: string): Promise<Principal> {
    try {
      return await this.check(token);
    } catch (error) {
      if (!(error instanceof ReghookError) || error.code !== 'REGHOOK_UNAUTHORIZED') throw error;
      const wait = this.failures.hit(clientAddress);
      if (wait > 0) throw this.rateLimited(wait);
      throw error;
    }
  }

  private refuseIfBlocked(clientAddress: string): void {
    const wait = this.failures.blocked(clientAddress);
    if (wait > 0) throw this.rateLimited(wait);
  }

  private rateLimited(retryAfterSeconds: number): ReghookError {
    return new ReghookError('REGHOOK_RATE_LIMITED', 'too many failed authentications from this address', { retryAfterSeconds });
  }

  private async check(token: string): Promise<Principal> {
    const hash = hashToken(token);
    if (hashesEqual(hash, await this.adminToken.current())) return { kind: 'admin' };
    const key = await this.store.findApiKeyByHash(hash);
    if (key && key.revokedAt === null && hashesEqual(key.hash, hash)) {
      return { kind: 'project', appId: key.appId, keyId: key.id };
    }
    throw new ReghookError('REGHOOK_UNAUTHORIZED', 'the token is not valid (revoked or unknown)');
  }
}
