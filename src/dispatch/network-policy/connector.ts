import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { ConnectionOptions } from 'node:tls';

import { buildConnector } from 'undici';
import type { OperatorErrorCode } from '../../errors.js';

import { checkAddress, type NetworkPolicy } from './policy.js';

/** Thrown (through undici's connect callback) when the network policy refuses a destination. */
export class DestinationRefusedError extends Error {
  readonly code = 'REGHOOK_DESTINATION_REFUSED' satisfies OperatorErrorCode;
  /** The refused IP address (what the host resolved to, or the literal itself). */
  readonly address: string;
  /** The host as the request named it. */
  readonly hostname: string;
  /** Why, e.g. "loopback address 127.0.0.1" (no secrets; safe to record with the attempt). */
  readonly reason: string;

  constructor(hostname: string, address: string, reason: string) {
    super(
      hostname === address
        ? `destination refused by network policy: ${reason}`
        : `destination ${hostname} refused by network policy: ${reason}`,
    );
    this.name = 'DestinationRefusedError';
    this.hostname = hostname;
    this.address = address;
    this.reason = reason;
  }
}

/** TLS settings a deployment may tune; never the host, port, socket or lookup. */
export type PolicyTlsOptions = Pick<
  ConnectionOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'minVersion' | 'maxVersion' | 'ciphers' | 'checkServerIdentity'
>;

export type PolicyConnectorOptions = {
  /** Resolver to use instead of `dns.lookup` (tests). Called with `all: true`; both callback forms are accepted. */
  lookup?: LookupFunction;
  /** Connect (and TLS handshake) timeout; undici's default is 10 s. */
  connectTimeoutMs?: number;
  tls?: PolicyTlsOptions;
};

export type PolicyConnector = buildConnector.connector;

const systemLookup: LookupFunction = (hostname, options, callback) => dnsLookup(hostname, { ...options, all: true }, callback);

/** Answers of a lookup callback as `{address, family}`, with the family taken from the literal itself. */
function answersOf(result: string | LookupAddress[]): LookupAddress[] {
  const raw = typeof result === 'string' ? [{ address: result }] : result;
  return raw.map(({ address }) => ({ address, family: isIP(address) }));
}

/**
 * An undici `connect` function that lets a connection reach only addresses the policy allows:
 * - IP-literal hosts are checked directly (net.connect never calls `lookup` for literals);
 * - other hosts are resolved once per connection with `all: true`; if ANY answer is refused the
 *   whole host is refused (a mixed public/private answer set is an attack, not a fallback), and
 *   net connects only to the answers that were checked, so there is no second, unchecked
 *   resolution and a DNS-rebinding flip is caught on the next connection.
 * Refusals reach the request as a connect error with `code === 'REGHOOK_DESTINATION_REFUSED'`.
 *
 * Use it with a plain `Agent`/`Client`: those ignore HTTP_PROXY/HTTPS_PROXY/NO_PROXY (only
 * `EnvHttpProxyAgent` and `ProxyAgent` read or use proxies, and a proxy would resolve the host
 * itself), so environment variables cannot route deliveries around this check.
 * @example new Agent({ connect: createPolicyConnector(policy, { connectTimeoutMs: 5000 }) })
 */
export function createPolicyConnector(policy: NetworkPolicy, options: PolicyConnectorOptions = {}): PolicyConnector {
  const resolve = options.lookup ?? systemLookup;

  const policyLookup: LookupFunction = (hostname, dnsOptions, callback) => {
    const all = dnsOptions.all === true;
    const fail = (err: NodeJS.ErrnoException): void => (all ? callback(err, []) : callback(err, ''));
    resolve(hostname, { ...dnsOptions, all: true }, (err, result) => {
      if (err) return fail(err);
      const answers = answersOf(result);
      if (answers.length === 0) {
        return fail(Object.assign(new Error(`no address found for ${hostname}`), { code: 'ENOTFOUND', hostname }));
      }
      for (const { address } of answers) {
        const verdict = checkAddress(policy, address);
        if (!verdict.allowed) return fail(new DestinationRefusedError(hostname, address, verdict.reason));
      }
      // Answer with the checked list only: autoSelectFamily (on by default in Node 20) asks for
      // all: true and tries them in order; the single form gets the first.
      const [first] = answers;
      if (all) callback(null, answers);
      else if (first) callback(null, first.address, first.family);
    });
  };

  const connect = buildConnector({
    ...options.tls,
    ...(options.connectTimeoutMs === undefined ? {} : { timeout: options.connectTimeoutMs }),
    lookup: policyLookup,
  });

  return (connectOptions, callback) => {
    const { hostname } = connectOptions;
    // Undici hands IPv6 literals over without brackets; strip them anyway in case a caller doesn't.
    const literal = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    if (isIP(literal) !== 0) {
      const verdict = checkAddress(policy, literal);
      if (!verdict.allowed) {
        const error = new DestinationRefusedError(literal, literal, verdict.reason);
        process.nextTick(() => callback(error, null));
        return;
      }
    }
    // servername passes through untouched: buildConnector derives SNI from `host` for names
    // (never for IP literals), so TLS verifies the name the tenant typed, not the resolved IP.
    connect(connectOptions, callback);
  };
}
