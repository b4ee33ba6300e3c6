import type { FastifyReply } from 'fastify';
import { ERROR_CATALOGUE, type ErrorCode, type FieldError } from '../errors.js';

/** The `type` of a problem: a stable URN per error code. */
export function problemType(code: ErrorCode): string {
  return `urn:reghook:problem:${code.slice('REGHOOK_'.length).toLowerCase().replace(/_/g, '-')}`;
}

/** Sends an RFC 9457 problem. `type` is a stable URN per error code. */
export function sendProblem(reply: FastifyReply, code: ErrorCode, detail: string, errors?: FieldError[]): FastifyReply {
  const { status, title } = ERROR_CATALOGUE[code];
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: problemType(code),
      title,
      status,
      detail,
      code,
      ...(errors ? { errors } : {}),
    });
}
