/**
 * Configuration: the only module that reads process.env. Environment variables and matching CLI
 * flags (`--retry-interval 250ms` for REGHOOK_RETRY_INTERVAL) are validated once, at start, into a
 * fully-defaulted ResolvedConfig; a bad value throws a ConfigError naming the variable.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { type NetworkPolicy, parseNetworkPolicy } from './dispatch/network-policy.js';

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface ResolvedConfig {
  database: DatabaseTarget;
  /** Folder for generated files (the secret key) and, by default, the SQLite database. */
  dataDir: string;
  host: string;
  port: number;
  adminToken: string | undefined;
  /** Base64 of 32 bytes; undefined = load or generate `<dataDir>/secret.key`. */
  secretKey: string | undefined;
  retryIntervalMs: number;
  maxAttempts: number;
  deliveryTimeoutMs: number;
  networkPolicy: NetworkPolicy;
  retentionMs: number;
  awaitingRetentionMs: number;
  dispatch: boolean;
  /** Attempts in flight at once in one process. */
  concurrency: number;
  /** Attempts in flight at once to one endpoint, so a slow endpoint cannot take every slot. */
  endpointConcurrency: number;
  /** Requests per minute one project API key may make. */
  keyRateLimitPerMinute: number;
  /**
   * Addresses and CIDRs of reverse proxies whose X-Forwarded-For is believed (empty: none, the
   * peer's own address is the client's).
   */
  trustProxy: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `30s`, `5m`, `1h`, `30d` (a bare number is milliseconds) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!;
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

type Source = Record<string, string | undefined>;

/** Turns `--retry-interval 250ms` / `--retry-interval=250ms` into `{ REGHOOK_RETRY_INTERVAL: '250ms' }`. */
export function flagsToVariables(args: readonly string[]): Source {
  const out: Source = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) value = 'true';
      else value = args[++i];
    }
    out[`REGHOOK_${name.toUpperCase().replace(/-/g, '_')}`] = value;
  }
  return out;
}

const KNOWN = new Set([
  'REGHOOK_DATABASE_URL', 'REGHOOK_HOST', 'REGHOOK_PORT', 'REGHOOK_ADMIN_TOKEN', 'REGHOOK_SECRET_KEY',
  'REGHOOK_RETRY_INTERVAL', 'REGHOOK_MAX_ATTEMPTS', 'REGHOOK_DELIVERY_TIMEOUT',
  'REGHOOK_ALLOW_PRIVATE_NETWORKS', 'REGHOOK_RETENTION', 'REGHOOK_AWAITING_RETENTION',
  'REGHOOK_DISPATCH', 'REGHOOK_CONCURRENCY', 'REGHOOK_ENDPOINT_CONCURRENCY', 'REGHOOK_LOG_LEVEL',
  'REGHOOK_DATA_DIR', 'REGHOOK_KEY_RATE_LIMIT', 'REGHOOK_TRUST_PROXY',
]);

/**
 * Parses REGHOOK_TRUST_PROXY: comma-separated IP addresses and CIDRs (`10.0.0.1, 10.1.0.0/16,
 * fd00::/8`), or none. Throws a ConfigError naming the variable for anything else.
 */
export function parseTrustProxy(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const slash = entry.indexOf('/');
    const address = slash === -1 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    const prefix = slash === -1 ? null : entry.slice(slash + 1);
    const maxPrefix = family === 6 ? 128 : 32;
    if (family === 0 || (prefix !== null && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix))) {
      throw new ConfigError(
        `REGHOOK_TRUST_PROXY="${raw}": "${entry}" is not an IP address or CIDR (example: 10.0.0.0/8,192.0.2.1)`,
      );
    }
  }
  return entries;
}

/** Validates the environment (and CLI flags, which win) into a ResolvedConfig, or throws ConfigError. */
export function loadConfig(env: Source = process.env, args: readonly string[] = []): ResolvedConfig {
  const flags = flagsToVariables(args);
  for (const name of Object.keys(flags)) {
    if (!KNOWN.has(name)) throw new ConfigError(`unknown option --${name.slice(8).toLowerCase().replace(/_/g, '-')}`);
  }
  const source: Source = { ...env, ...flags };
  const get = (name: string): string | undefined => {
    const value = source[name];
    return value === undefined || value === '' ? undefined : value;
  };

  const duration = (name: string, fallback: string, min = 1): number => {
    const raw = get(name) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === undefined || ms < min) {
      throw new ConfigError(`${name}="${raw}" is not a duration of at least ${min}ms (examples: 250ms, 30s, 1h, 30d)`);
    }
    return ms;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(`${name}="${raw}" must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new ConfigError(`${name}="${raw}" must be true or false`);
  };

  const databaseUrl = get('REGHOOK_DATABASE_URL') ?? 'sqlite:./data/reghook.db';
  let database: DatabaseTarget;
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') throw new ConfigError(`REGHOOK_DATABASE_URL="${databaseUrl}" names no SQLite file`);
    database = { kind: 'sqlite', path: file };
  } else if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    database = { kind: 'postgres', url: databaseUrl };
  } else {
    throw new ConfigError('REGHOOK_DATABASE_URL must be sqlite:<path> or postgres://…');
  }
  const dataDir = get('REGHOOK_DATA_DIR') ?? (database.kind === 'sqlite' ? path.dirname(database.path) : './data');

  const adminToken = get('REGHOOK_ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('REGHOOK_ADMIN_TOKEN must be at least 16 characters');
  }
  const secretKey = get('REGHOOK_SECRET_KEY');
  if (secretKey !== undefined && Buffer.from(secretKey, 'base64').length !== 32) {
    throw new ConfigError('REGHOOK_SECRET_KEY must be base64 of exactly 32 bytes (openssl rand -base64 32)');
  }

  let networkPolicy: NetworkPolicy;
  try {
    networkPolicy = parseNetworkPolicy(get('REGHOOK_ALLOW_PRIVATE_NETWORKS') ?? 'false');
  } catch (error) {
    throw new ConfigError(`REGHOOK_ALLOW_PRIVATE_NETWORKS: ${(error as Error).message}`);
  }

  const logLevel = get('REGHOOK_LOG_LEVEL') ?? 'info';
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  if (!(levels as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`REGHOOK_LOG_LEVEL="${logLevel}" must be one of ${levels.join(', ')}`);
  }

  const host = get('REGHOOK_HOST') ?? '127.0.0.1';
  return {
    database,
    dataDir,
    host,
    port: integer('REGHOOK_PORT', 8080, 0, 65535),
    adminToken,
    secretKey,
    retryIntervalMs: duration('REGHOOK_RETRY_INTERVAL', '1h'),
    maxAttempts: integer('REGHOOK_MAX_ATTEMPTS', 10, 1, 100),
    deliveryTimeoutMs: duration('REGHOOK_DELIVERY_TIMEOUT', '10s', 10),
    networkPolicy,
    retentionMs: duration('REGHOOK_RETENTION', '30d'),
    awaitingRetentionMs: duration('REGHOOK_AWAITING_RETENTION', '365d'),
    dispatch: boolean('REGHOOK_DISPATCH', true),
    concurrency: integer('REGHOOK_CONCURRENCY', 1024, 1, 10_000),
    endpointConcurrency: integer('REGHOOK_ENDPOINT_CONCURRENCY', 16, 1, 1_000),
    keyRateLimitPerMinute: integer('REGHOOK_KEY_RATE_LIMIT', 1200, 1, 10_000_000),
    trustProxy: parseTrustProxy(get('REGHOOK_TRUST_PROXY')),
    logLevel: logLevel as ResolvedConfig['logLevel'],
  };
}
