import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../package-info.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The numbered migrations (`0001_init.sql` …) of one backend, in order. */
export function loadMigrations(kind: 'sqlite' | 'postgres'): Migration[] {
  const dir = path.join(packageRoot, 'migrations', kind);
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(path.join(dir, file), 'utf8'),
    }));
}
