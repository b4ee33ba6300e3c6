/**
 * The standard-library verification programs of docs/samples (shown verbatim in docs/receivers.md)
 * run on the committed signed sample: each accepts it under either secret and refuses a tampered
 * body, a tampered signature and a timestamp 301 s away. A language whose interpreter is not on
 * PATH is skipped with a notice; under CI=true, python3 and one of php or java must be there.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_FILE, SAMPLES_DIR, type SignedSample } from './signed-sample.js';

const run = promisify(execFile);
const IN_CI = process.env.CI === 'true';

interface Language {
  name: string;
  /** The interpreter or toolchain looked for on PATH, and the arguments that make it print its version. */
  probe: [string, ...string[]];
  /** The command verifying one sample file at one `now` (case `index`); `work` is a scratch folder of this run. */
  command: (work: string) => Promise<(sample: string, now: number, index: number) => [string, string[]]>;
}

const sampleProgram = (file: string) => path.join(SAMPLES_DIR, file);
const interpreted = (binary: string, file: string) => async () => (sample: string, now: number): [string, string[]] => [
  binary,
  [sampleProgram(file), sample, String(now)],
];

const LANGUAGES: Language[] = [
  { name: 'Node.js', probe: [process.execPath, '--version'], command: interpreted(process.execPath, 'verify.mjs') },
  { name: 'Python 3', probe: ['python3', '--version'], command: interpreted('python3', 'verify.py') },
  { name: 'PHP', probe: ['php', '--version'], command: interpreted('php', 'verify.php') },
  {
    name: 'Java',
    probe: ['java', '-version'],
    // The first case runs as documented, a single-file source program (`java Verify.java sample.json`),
    // which compiles it each time; the others share one javac build, so six compilations do not race
    // on two cores.
    command: async (work) => {
      const classes = path.join(work, 'java');
      const compiled = await run('javac', ['-d', classes, sampleProgram('Verify.java')]).then(() => true, () => false);
      return (sample, now, index) =>
        compiled && index > 0
          ? ['java', ['-cp', classes, 'Verify', sample, String(now)]]
          : ['java', [sampleProgram('Verify.java'), sample, String(now)]];
    },
  },
  { name: 'Ruby', probe: ['ruby', '--version'], command: interpreted('ruby', 'verify.rb') },
  {
    name: 'Go',
    probe: ['go', 'version'],
    // Built once (what `go run verify.go` does each time), then run per case.
    command: async (work) => {
      const binary = path.join(work, 'verify-go');
      await run('go', ['build', '-o', binary, sampleProgram('verify.go')], { cwd: work });
      return (sample, now) => [binary, [sample, String(now)]];
    },
  },
];

/** Under CI=true these must run (Node.js always does), and at least one of CI_ONE_OF. */
const CI_REQUIRED = ['Node.js', 'Python 3'];
const CI_ONE_OF = ['PHP', 'Java'];

const present = new Map(LANGUAGES.map((language) => {
  const [binary, ...args] = language.probe;
  const probe = spawnSync(binary, args, { stdio: 'ignore', timeout: 20_000 });
  return [language.name, probe.error === undefined && probe.status === 0];
}));
const missing = LANGUAGES.filter((language) => !present.get(language.name)).map((language) => language.name);
const ciFailures: string[] = [];
if (IN_CI) {
  for (const name of CI_REQUIRED) if (!present.get(name)) ciFailures.push(`${name} is not on PATH; CI=true requires it`);
  if (!CI_ONE_OF.some((name) => present.get(name))) {
    ciFailures.push(`neither ${CI_ONE_OF.join(' nor ')} is on PATH; CI=true requires one (.ci/run installs php-cli from Debian)`);
  }
}
if (missing.length > 0) {
  process.stderr.write(`\n  SKIPPED in test/receiver/other-languages.test.ts: ${missing.join(', ')} (no working one on PATH).\n\n`);
}

// The cases, each a sample file and a `now`, with the exit code and the line the program must print.
const sample = JSON.parse(readFileSync(SAMPLE_FILE, 'utf8')) as SignedSample;
const timestamp = Number(sample.headers['webhook-timestamp']);
const work = mkdtempSync(path.join(tmpdir(), 'reghook-samples-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function variant(name: string, change: (copy: SignedSample) => void): string {
  const copy = structuredClone(sample);
  change(copy);
  const file = path.join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(copy, null, 2));
  return file;
}

const [first, second] = sample.headers['webhook-signature'].split(' ') as [string, string];
// One character of the current secret's signature changed: no entry matches that secret any more.
const flipped = first.slice(0, 3) + (first[3] === 'A' ? 'B' : 'A') + first.slice(4);
const ACCEPTED = /^verified evt_/;
const BAD_SIGNATURE = /^refused: .*webhook-signature/;
const BAD_TIME = /^refused: .*webhook-timestamp/;

const CASES: { name: string; sample: string; now: number; exit: 0 | 1; says: RegExp }[] = [
  { name: 'the committed sample, at its timestamp', sample: SAMPLE_FILE, now: timestamp, exit: 0, says: ACCEPTED },
  {
    name: 'the previous secret (second signature), 300 s later',
    sample: variant('previous-secret', (copy) => (copy.secret = copy.previousSecret)),
    now: timestamp + 300,
    exit: 0,
    says: ACCEPTED,
  },
  {
    name: 'a tampered body',
    sample: variant('tampered-body', (copy) => (copy.body = copy.body.replace('"appId":1,', '"appId":2,'))),
    now: timestamp,
    exit: 1,
    says: BAD_SIGNATURE,
  },
  {
    name: 'a tampered signature',
    sample: variant('tampered-signature', (copy) => (copy.headers['webhook-signature'] = `${flipped} ${second}`)),
    now: timestamp,
    exit: 1,
    says: BAD_SIGNATURE,
  },
  { name: 'now = timestamp + 301', sample: SAMPLE_FILE, now: timestamp + 301, exit: 1, says: BAD_TIME },
  { name: 'now = timestamp - 301', sample: SAMPLE_FILE, now: timestamp - 301, exit: 1, says: BAD_TIME },
];

describe('the standard-library verifiers of docs/samples', () => {
  it.runIf(ciFailures.length > 0)('CI=true has the languages it requires', () => {
    throw new Error(ciFailures.join('; '));
  });

  it('the tampered variants really differ from the sample', () => {
    expect(readFileSync(CASES[2]!.sample, 'utf8')).not.toContain('"appId":1,');
    expect(flipped).not.toBe(first);
  });

  for (const language of LANGUAGES) {
    // The languages run side by side; within one, the cases do too.
    it.skipIf(!present.get(language.name)).concurrent(`${language.name}: accepts either signature, refuses tampering and a stale or early timestamp`, async ({ expect }) => {
      const command = await language.command(work);
      const results = await Promise.all(CASES.map(async (testCase, index) => {
        const [binary, args] = command(testCase.sample, testCase.now, index);
        try {
          const { stdout } = await run(binary, args, { timeout: 60_000 });
          return { exit: 0, output: stdout.trim() };
        } catch (error) {
          const failed = error as { code?: unknown; stdout?: string; stderr?: string };
          return { exit: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stderr ?? ''}${failed.stdout ?? ''}`.trim() };
        }
      }));
      CASES.forEach((testCase, i) => {
        const result = results[i]!;
        expect(result.exit, `${language.name}, ${testCase.name}: ${result.output}`).toBe(testCase.exit);
        expect(result.output, `${language.name}, ${testCase.name}`).toMatch(testCase.says);
      });
    });
  }
});
