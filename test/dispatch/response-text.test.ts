import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { responseText } from '../../src/dispatch/sender.js';

describe('the kept response body is text any database stores', () => {
  it('whatever bytes a receiver answers: no U+0000, and it survives a UTF-8 round trip unchanged', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (bytes) => {
        const text = responseText(Buffer.from(bytes));
        expect(text).not.toContain('\0');
        expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
      }),
      { numRuns: 2_000 },
    );
  });

  it('text without U+0000 is kept exactly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }).filter((s) => !s.includes('\0')), (s) => {
        expect(responseText(Buffer.from(s, 'utf8'))).toBe(s);
      }),
    );
  });

  it('a NUL and an invalid sequence each become U+FFFD', () => {
    expect(responseText(Buffer.from([0x6f, 0x6b, 0x00, 0xff, 0x21]))).toBe('ok\uFFFD\uFFFD!');
  });
});
