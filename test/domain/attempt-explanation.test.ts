import { describe, expect, it } from 'vitest';
import { ATTEMPT_ERROR_KINDS } from '../../src/domain/attempt-error.js';
import { ERROR_KIND_EXPLANATIONS, STATUS_EXPLANATIONS, explainAttempt, explanationText } from '../../src/domain/attempt-explanation.js';

const sentence = /^([A-Z"']|reghook ).*[.]$/;

describe('explainAttempt', () => {
  it.each(ATTEMPT_ERROR_KINDS)('explains the error kind %s with a meaning and a fix', (kind) => {
    const e = explainAttempt({ statusCode: null, errorKind: kind });
    expect(e).not.toBeNull();
    expect(e!.meaning).toMatch(sentence);
    expect(e!.fix).toMatch(sentence);
    expect(e).toBe(ERROR_KIND_EXPLANATIONS[kind]);
  });

  it('has an explanation for exactly the known error kinds', () => {
    expect(Object.keys(ERROR_KIND_EXPLANATIONS).sort()).toEqual([...ATTEMPT_ERROR_KINDS].sort());
  });

  it('explains distinct kinds differently', () => {
    const meanings = ATTEMPT_ERROR_KINDS.map((kind) => ERROR_KIND_EXPLANATIONS[kind].meaning);
    expect(new Set(meanings).size).toBe(meanings.length);
  });

  it('names what connection_refused and timeout mean', () => {
    expect(explanationText(explainAttempt({ statusCode: null, errorKind: 'connection_refused' })!)).toContain('no server listens');
    expect(explainAttempt({ statusCode: null, errorKind: 'timeout' })!.fix).toContain('Answer 200 right away');
  });

  it('prefers the error kind over a status code', () => {
    expect(explainAttempt({ statusCode: 500, errorKind: 'timeout' })).toBe(ERROR_KIND_EXPLANATIONS.timeout);
  });

  it('has nothing to explain for a 200 or for an attempt without any result', () => {
    expect(explainAttempt({ statusCode: 200, errorKind: null })).toBeNull();
    expect(explainAttempt({ statusCode: null, errorKind: null })).toBeNull();
  });

  const cases: [number, string][] = [
    [201, 'only 200 counts as delivered'],
    [202, 'only 200 counts as delivered'],
    [204, 'only 200 counts as delivered'],
    [301, 'redirects are not followed'],
    [302, 'redirects are not followed'],
    [308, 'redirects are not followed'],
    [400, 'malformed'],
    [401, 'authentication'],
    [403, 'refused the request (HTTP 403)'],
    [404, 'Nothing is served at this URL'],
    [405, 'POST'],
    [410, 'gone for good'],
    [413, 'too large'],
    [415, 'application/json'],
    [422, 'refused its content'],
    [429, 'rate limiting'],
    [418, 'refused the request (HTTP 418)'],
    [451, 'refused the request (HTTP 451)'],
    [500, 'crashed'],
    [502, 'gateway in front of your server got no valid answer'],
    [503, 'unavailable'],
    [504, 'timed out waiting'],
    [507, 'server error (HTTP 507)'],
    [599, 'server error (HTTP 599)'],
    [100, 'unusual status HTTP 100'],
  ];
  it.each(cases)('explains HTTP %i (%s)', (status, expected) => {
    const e = explainAttempt({ statusCode: status, errorKind: null });
    expect(e).not.toBeNull();
    expect(explanationText(e!)).toContain(expected);
    expect(e!.meaning).toMatch(sentence);
    expect(e!.fix).toMatch(sentence);
  });

  it('says what to answer for a 204', () => {
    expect(explainAttempt({ statusCode: 204, errorKind: null })!.fix).toContain('Answer exactly 200');
  });

  it('has a sentence of its own for every listed status, tested above', () => {
    const tested = new Set(cases.map(([s]) => s));
    for (const status of Object.keys(STATUS_EXPLANATIONS).map(Number)) expect(tested.has(status)).toBe(true);
  });
});
