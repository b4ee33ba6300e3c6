/**
 * A landed migration is frozen: every migration file's SHA-256 is committed beside it
 * (migrations/<kind>/checksums.txt), and a changed file fails here. A new migration is added with
 * `UPDATE_SCHEMA=1 npx vitest run test/schema`, which appends missing entries and never changes one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../migrations');

describe.each(['sqlite', 'postgres'])('%s migrations', (kind) => {
  const dir = path.join(ROOT, kind);
  const ledger = path.join(dir, 'checksums.txt');
  const files = readdirSync(dir).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const sha = (file: string) => createHash('sha256').update(readFileSync(path.join(dir, file))).digest('hex');

  it('are unchanged since they landed, and each one is in the ledger', () => {
    const recorded = new Map(
      (existsSync(ledger) ? readFileSync(ledger, 'utf8') : '')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const [hash, file] = line.split(/\s+/);
          return [file!, hash!] as const;
        }),
    );
    if (process.env.UPDATE_SCHEMA === '1') {
      const missing = files.filter((f) => !recorded.has(f));
      for (const f of missing) recorded.set(f, sha(f));
      writeFileSync(ledger, [...recorded].map(([f, h]) => `${h}  ${f}\n`).join(''));
    }
    for (const f of files) expect(sha(f), `${kind}/${f} changed after it landed: add a new migration instead`).toBe(recorded.get(f));
  });
});
