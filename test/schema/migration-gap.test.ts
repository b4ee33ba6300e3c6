import { expect, it } from 'vitest';
import { appliesEvery, loadMigrations } from '../../src/store/migration-files.js';

// Migration numbers may land out of order (0005 before 0004): readiness asks for every known one,
// not "the newest is applied", so a database that took 0005 first still reports the 0004 it owes.
it.each(['sqlite', 'postgres'] as const)('%s: ready only when every known migration is applied, whatever the gaps', (kind) => {
  const known = loadMigrations(kind).map((m) => m.version);
  expect(known).toContain(5);
  expect(appliesEvery(kind, known)).toBe(true);
  expect(appliesEvery(kind, [...known, 99])).toBe(true);
  const middle = known.filter((v) => v !== known[1]);
  expect(Math.max(...middle)).toBe(Math.max(...known));
  expect(appliesEvery(kind, middle)).toBe(false);
});
