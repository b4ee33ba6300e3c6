/**
 * Request validation. Bodies are validated strictly (no type coercion, unknown fields refused);
 * path and query strings are coerced from text. Ajv reports every error, each turned into
 * `{ path, message }` naming the field. Date-times are read by the one domain parser the routes
 * store with, and a U+0000 anywhere in a request is refused before validation (see app.ts).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';
import { isIP } from 'node:net';
import { ReghookError, type FieldError } from '../errors.js';
import { parseDateTime, parseRegisterDate } from '../domain/registration.js';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = (ajvFormats as unknown as { default: FormatsPlugin }).default;

function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ allErrors: true, coerceTypes, removeAdditional: false, useDefaults: true, strict: false });
  addFormats(ajv);
  // No IPv6 zone ids ("fe80::1%eth0"): they mean nothing off the reporting host.
  ajv.addFormat('ip', (value: string) => !value.includes('%') && isIP(value) !== 0);
  ajv.addFormat('register-date', (value: string) => parseRegisterDate(value) !== undefined);
  // ajv-formats' date-time admits leap seconds (23:59:60) and offsets like "+03" that name no
  // instant Date.parse can read; this one accepts exactly what the routes can store.
  ajv.addFormat('date-time', (value: string) => parseDateTime(value) !== undefined);
  return ajv;
}

const strict = makeAjv(false);
const lenient = makeAjv(true);

/** The error of a route that needs a body and got none (an empty body is no body). */
const MISSING_BODY: ErrorObject = { keyword: 'required', instancePath: '', schemaPath: '#', params: {}, message: 'is required' };

type Validator = ValidateFunction | ((data: unknown) => boolean | { error: ErrorObject[] });

/** Fastify validator compiler: strict for bodies, coercing for params and querystrings. */
export function compileValidator({ schema, httpPart }: { schema: object; httpPart?: string }): Validator {
  if (httpPart !== 'body') return lenient.compile(schema);
  const validate = strict.compile(schema);
  // Fastify hands a missing body over as null (so does a JSON `null`): there is no body to check.
  return (data: unknown) => (data === null || data === undefined ? { error: [MISSING_BODY] } : validate(data) || { error: validate.errors ?? [] });
}

/**
 * The instant of a date-time the schema validated (format `date-time` is the same parser, so this
 * never refuses in practice; if it did, the caller gets the 400 naming the field, not a NaN stored).
 */
export function instantOf(text: string, path: string): number {
  const ms = parseDateTime(text);
  if (ms === undefined) {
    throw new ReghookError('REGHOOK_VALIDATION', `invalid request: ${path}`, { errors: [{ path, message: FORMAT_MESSAGES['date-time']! }] });
  }
  return ms;
}

/**
 * The JSON pointer of the first string holding U+0000 in a request's params (`/params/…`),
 * querystring (`/query/…`) or body (`/…`), keys included; undefined when there is none.
 */
export function nulCharacterPath(parts: { params: unknown; query: unknown; body: unknown }): string | undefined {
  return nulIn(parts.params, '/params') ?? nulIn(parts.query, '/query') ?? nulIn(parts.body, '');
}

function nulIn(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path || '/' : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (key.includes('\u0000')) return at;
    const found = nulIn(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

const FORMAT_MESSAGES: Record<string, string> = {
  ip: 'must be an IPv4 or IPv6 address',
  uuid: 'must be a UUID',
  'register-date': 'must be "YYYY-MM-DD HH:mm:ss" (UTC) or an ISO 8601 date-time with an offset, naming a real date',
  'date-time': 'must be an RFC 3339 date-time with an offset (e.g. 2020-03-20T12:35:41Z), naming a real instant (no leap second)',
};

/** Ajv errors as `{ path, message }`, the path a JSON pointer to the field (e.g. `/clientIp`). */
export function fieldErrors(errors: readonly Partial<ErrorObject>[], part: string | undefined): FieldError[] {
  const prefix = part === 'querystring' ? '/query' : part === 'params' ? '/params' : '';
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let path = e.instancePath ?? '';
    let message = e.message ?? 'is invalid';
    const params = (e.params ?? {}) as Record<string, unknown>;
    if (e.keyword === 'required') {
      if (params.missingProperty !== undefined) path += `/${String(params.missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path += `/${String(params.additionalProperty)}`;
      message = 'is not a known field';
    } else if (e.keyword === 'format') {
      message = FORMAT_MESSAGES[String(params.format)] ?? message;
    } else if (e.keyword === 'anyOf' || e.keyword === 'type' && seen.has(prefix + path)) {
      continue;
    }
    const key = `${prefix}${path}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    seen.add(prefix + path);
    out.push({ path: prefix + path || '/', message });
  }
  return out;
}
