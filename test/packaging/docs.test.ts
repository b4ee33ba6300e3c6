/**
 * The documentation that ships in the repository says what the code does: the configuration
 * reference lists exactly the variables src/config.ts reads, with their defaults; the example
 * environment file and systemd unit name only real settings; the alert rules query only series
 * reghook exports; and no link leaves the repository or points at nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { FILE_VARIABLES, loadConfig, VARIABLES } from '../../src/config.js';
import { ERROR_CATALOGUE, OPERATOR_ERRORS } from '../../src/errors.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { Store } from '../../src/store/store.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** README.md, CHANGELOG.md and every Markdown file under docs/. */
function markdownFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md'))
    .map((file) => path.join('docs', file));
  return ['README.md', 'CHANGELOG.md', ...docs];
}

describe('docs/configuration.md', () => {
  const rows = read('docs/configuration.md')
    .split('\n')
    .map((line) => /^\| `(REGHOOK_[A-Z_]+)` \| ([^|]+) \|/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, default: m[2]!.trim().replace(/`/g, '') }));

  it('lists every variable src/config.ts reads, each once, with its default', () => {
    const documented = rows.filter((row) => !row.name.endsWith('_FILE'));
    expect(documented).toEqual(VARIABLES.map((v) => ({ name: v.name, default: v.default })));
  });

  it('lists every _FILE variant', () => {
    const files = rows.filter((row) => row.name.endsWith('_FILE')).map((row) => row.name);
    expect(files).toEqual(FILE_VARIABLES.map((name) => `${name}_FILE`));
  });
});

describe('docs/api.md', () => {
  it('lists every error code of the catalogue, each once, with its status', () => {
    const rows = read('docs/api.md')
      .split('\n')
      .map((line) => /^\| `(REGHOOK_[A-Z_]+)` \| (\d{3}) \|/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, Number(m[2])]);
    expect(rows).toEqual(Object.entries(ERROR_CATALOGUE).map(([code, { status }]) => [code, status]));
  });
});

describe('docs/operations.md', () => {
  it('lists every code of the operator catalogue, each once, with its meaning', () => {
    const rows = read('docs/operations.md')
      .split('\n')
      .map((line) => /^\| `(REGHOOK_[A-Z_]+)` \| (.+) \|$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!.replace(/`/g, '')]);
    expect(rows).toEqual(Object.entries(OPERATOR_ERRORS));
  });
});

describe('the production files under docs/ops/', () => {
  /** `NAME=value` lines (comments and blanks left out), from an env file or a unit's Environment= lines. */
  const assignments = (text: string, prefix = '') =>
    Object.fromEntries(
      text
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.startsWith(prefix) && !line.startsWith('#'))
        .map((line) => line.slice(prefix.length))
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );

  it('the environment file is a valid configuration', () => {
    const env = assignments(read('docs/ops/reghook.env'));
    expect(Object.keys(env).length).toBeGreaterThan(0);
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('the systemd unit starts the installed reghook and sets only known variables', () => {
    const unit = read('docs/ops/reghook.service');
    expect(unit).toMatch(/^ExecStart=\S*reghook serve$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/reghook\/reghook\.env$/m);
    const names = Object.keys(assignments(unit, 'Environment='));
    const known = new Set([...VARIABLES.map((v) => v.name), ...FILE_VARIABLES.map((name) => `${name}_FILE`)]);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(known, name).toContain(name);
  });

  it('the alert rules query only series reghook exports', async () => {
    // Only queueStats is read, at scrape time; an empty queue is enough to list the series.
    const store = { queueStats: async () => ({ due: 0, scheduled: 0, oldestDueAt: null, oldestPendingCreatedAt: null, failingEndpoints: 0 }) } as unknown as Store;
    const metrics = new Metrics(store, systemClock);
    const exported = new Set<string>();
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      exported.add(metric.name);
      // The JSON form carries the type's name (the typings say enum).
      if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(metric.name + suffix);
    }
    const rules = read('docs/ops/alerts.yml')
      .split('\n')
      .filter((line) => !line.trim().startsWith('#'))
      .join('\n');
    const queried = new Set(rules.match(/\breghook_[a-z0-9_]+/g));
    expect(queried.size).toBeGreaterThan(3);
    for (const name of queried) expect(exported, name).toContain(name);
  });
});

describe('docs/receivers.md', () => {
  // The programs test/receiver/other-languages.test.ts runs on the signed sample.
  const programs = readdirSync(path.join(ROOT, 'docs/samples')).filter((file) => !file.endsWith('.json')).sort();
  const page = read('docs/receivers.md');

  it('covers every language with a verification program in docs/samples', () => {
    expect(programs).toEqual(['Verify.java', 'verify.go', 'verify.mjs', 'verify.php', 'verify.py', 'verify.rb']);
  });

  it.each(programs)('shows docs/samples/%s verbatim, in the code block after its link', (file) => {
    // "[samples/verify.py](samples/verify.py) …" up to the end of its paragraph, then the fenced block.
    const link = `[samples/${file}](samples/${file})`;
    const at = page.indexOf(link);
    expect(at, `docs/receivers.md links ${link}`).toBeGreaterThan(-1);
    expect(page.indexOf(link, at + 1), `${link} appears once`).toBe(-1);
    const block = /\n\n```[a-z]+\n([\s\S]*?)```\n/.exec(page.slice(at));
    expect(block, `a code block follows ${link}`).not.toBeNull();
    expect(block![1]).toBe(read(`docs/samples/${file}`));
  });
});

describe('links', () => {
  it.each(markdownFiles())('%s links nothing outside the repository, and nothing missing', (file) => {
    const text = read(file);
    expect(text).not.toContain('](../');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:|#)/.test(target!)) continue;
      const relative = target!.split('#')[0]!;
      expect(existsSync(path.join(ROOT, path.dirname(file), relative)), `${file} -> ${target}`).toBe(true);
    }
  });
});
