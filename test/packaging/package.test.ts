/**
 * SPEC section 8: the build ships in the package. A copy of this checkout is packed (its prepack
 * builds dist/ from scratch), and the tarball is then used as an operator would: installed into an
 * empty folder (`npm install --omit=dev <tarball>`), then `npx reghook serve`, then `npm start` in
 * the installed package; both serve on the SQLite default. The install compiles better-sqlite3
 * (about a minute and a half here); packages come from npm's cache when `npm ci` of this checkout
 * put them there (--prefer-offline). REGHOOK_TEST_PACKAGE_INSTALLS=0 leaves the install out (.ci/run
 * does for all but one Node release, to stay in its time). The receiver SDK is packed on its own
 * too and installed into an empty project, where it must add exactly one package.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** What the package is built from (the copy gets these, and the checkout's node_modules by a link). */
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'CHANGELOG.md', 'bin', 'src', 'packages', 'bench', 'examples', 'migrations', 'docs'];
const INSTALL_MS = 300_000;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const INSTALLS = process.env.REGHOOK_TEST_PACKAGE_INSTALLS !== '0';

/** npm's settings worth passing on (the headers to build against, the cache); the rest describe the outer `npm test`. */
const NPM_SETTINGS = new Set(['npm_config_nodedir', 'npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig']);
const inherited = (name: string) =>
  !name.startsWith('REGHOOK_') && name !== 'INIT_CWD' && (!name.toLowerCase().startsWith('npm_') || NPM_SETTINGS.has(name.toLowerCase()));

/** The environment of npm and of the installed reghook: this one's (PATH, HOME, …) without REGHOOK_* or the outer npm's run. */
const cleanEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  ...(Object.fromEntries(Object.entries(process.env).filter(([name, value]) => inherited(name) && value !== undefined)) as Record<string, string>),
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
  ...extra,
});

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const res = spawnSync(NPM, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: INSTALL_MS });
  if (res.status !== 0) throw new Error(`npm ${args.join(' ')} (in ${cwd}) exited ${res.status}:\n${res.stdout}\n${res.stderr}`);
  return res;
}

/** npm without blocking the event loop, so the two installs below compile better-sqlite3 side by side. */
function npmInBackground(args: string[], cwd: string): Promise<void> {
  const child = spawn(NPM, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: INSTALL_MS });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm ${args.join(' ')} (in ${cwd}) exited ${code}:\n${out}`))));
  });
}

/**
 * Starts a command that should end up serving reghook (in its own process group, so npm and npx
 * and the node under them all get the signal), waits for "listening on", checks the service
 * answers, then SIGTERMs the group and answers what it printed and whether reghook drained and
 * stopped (npm itself dies of the signal; reghook's own exit code is its `stopped` line).
 */
async function serveAndStop(command: string, args: string[], cwd: string): Promise<{ out: string; health: number; ready: number; drained: boolean }> {
  const child = spawn(command, args, { cwd, env: cleanEnv({ REGHOOK_PORT: '0' }), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let health = 0;
  let ready = 0;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const deadline = Date.now() + 60_000;
      const check = () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) return resolve(m[1]!);
        if (child.exitCode !== null || Date.now() > deadline) return reject(new Error(`${command} ${args.join(' ')} did not serve:\n${out}`));
        setTimeout(check, 50);
      };
      check();
    });
    health = (await fetch(`${url}/healthz`)).status;
    ready = (await fetch(`${url}/readyz`)).status;
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
  }
  await exited;
  return { out, health, ready, drained: out.includes('SIGTERM received, draining') && out.includes('"msg":"stopped"') };
}

/** Every file under `dir`, relative to it. */
const listFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));

let work: string;
let copy: string;
let tarball: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'reghook-package-'));
  copy = path.join(work, 'checkout');
  mkdirSync(copy);
  for (const entry of SOURCES) cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true, preserveTimestamps: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  const packed = npm(['pack', '--silent', '--pack-destination', work], copy);
  tarball = path.join(work, packed.stdout.trim().split('\n').pop()!);
}, INSTALL_MS);

afterAll(() => {
  // Two installed copies of the dependencies: not worth keeping.
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the build, the migrations, the docs and a lock file, and no sources or tests', () => {
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    expect(listing).toEqual(expect.arrayContaining([
      'package/package.json',
      'package/npm-shrinkwrap.json',
      'package/bin/reghook.js',
      'package/bin/build-if-stale.js',
      'package/dist/src/cli.js',
      'package/dist/src/receiver/index.js',
      'package/migrations/sqlite/0001_init.sql',
      'package/migrations/postgres/0001_init.sql',
      'package/CHANGELOG.md',
      'package/docs/operations.md',
      'package/docs/ops/reghook.service',
      'package/docs/ops/reghook.env',
    ]));
    expect(listing.filter((file) => /^package\/(src|test|bench|examples)\//.test(file) || file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    // prepack's lock-file copy is gone again from the checkout it packed.
    expect(existsSync(path.join(copy, 'npm-shrinkwrap.json'))).toBe(false);
  });

  it.runIf(INSTALLS)('npm install --omit=dev <tarball> in an empty folder: npx reghook serve serves on the SQLite default, and npm start builds nothing', async () => {
    const app = path.join(work, 'app');
    mkdirSync(app);
    await npmInBackground(['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
    expect(existsSync(path.join(app, 'node_modules', 'typescript')), 'no dev dependency is installed').toBe(false);
    // The receiver SDK comes inside the package (bundled), as the build it was packed with.
    expect(existsSync(path.join(app, 'node_modules', 'reghook', 'node_modules', '@reghook', 'receiver', 'dist', 'index.js'))).toBe(true);

    const served = await serveAndStop(NPM, ['exec', '--no', '--', 'reghook', 'serve'], app);
    expect([served.health, served.ready], served.out).toEqual([200, 200]);
    expect(served.drained, served.out).toBe(true);
    expect(served.out).toMatch(/generated the admin token/);
    expect(existsSync(path.join(app, 'data', 'reghook.db'))).toBe(true);
    expect(statSync(path.join(app, 'data', 'secret.key')).mode & 0o777).toBe(0o600);

    // npm start in the installed package: its prestart finds no sources, so it builds nothing.
    const installed = path.join(app, 'node_modules', 'reghook');
    const started = await serveAndStop(NPM, ['start'], installed);
    expect([started.health, started.ready], started.out).toEqual([200, 200]);
    expect(started.drained, started.out).toBe(true);
    expect(started.out).not.toContain('building dist/');
  }, INSTALL_MS + 90_000);
});

describe('the receiver SDK package (packages/receiver)', () => {
  it('packs its build alone, and installs into an empty project as exactly one package, with no install script', () => {
    const receiverTarball = path.join(work, npm(['pack', '--silent', '--pack-destination', work], path.join(copy, 'packages', 'receiver')).stdout.trim().split('\n').pop()!);
    const listing = spawnSync('tar', ['-tzf', receiverTarball], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    expect(listing).toEqual(expect.arrayContaining(['package/package.json', 'package/README.md', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/signing.js']));
    expect(listing.filter((file) => !/^package\/(package\.json|README\.md|dist\/[a-z-]+\.(js|d\.ts))$/.test(file))).toEqual([]);

    const project = path.join(work, 'receiver-project');
    mkdirSync(project);
    npm(['init', '-y'], project);
    npm(['install', '--offline', '--no-audit', '--no-fund', receiverTarball], project);
    const installed = readdirSync(path.join(project, 'node_modules'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name === 'package.json')
      .map((entry) => path.relative(path.join(project, 'node_modules'), entry.parentPath));
    expect(installed).toEqual([path.join('@reghook', 'receiver')]);
    const manifest = JSON.parse(readFileSync(path.join(project, 'node_modules', '@reghook', 'receiver', 'package.json'), 'utf8'));
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.scripts?.install ?? manifest.scripts?.postinstall ?? manifest.scripts?.preinstall).toBeUndefined();

    // It works from there, as its README shows.
    const check = spawnSync(process.execPath, ['--input-type=module', '-e', "import('@reghook/receiver').then((m) => console.log(typeof m.verifyWebhook, typeof m.createNodeHandler))"], { cwd: project, encoding: 'utf8' });
    expect(check.stdout.trim(), check.stderr).toBe('function function');
    const { size } = statSync(receiverTarball);
    console.log(`@reghook/receiver: tarball ${size} bytes, ${listing.length} files, 0 dependencies`);
  }, INSTALL_MS);
});

describe('npm start in a checkout', () => {
  const prestart = () => spawnSync(process.execPath, [path.join(copy, 'bin', 'build-if-stale.js')], { cwd: copy, encoding: 'utf8', timeout: 120_000 });

  it('builds only when a source is newer than dist/', () => {
    const built = path.join(copy, 'dist', 'src', 'cli.js');
    const fresh = prestart();
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(fresh.stderr).toBe('');

    const before = statSync(built).mtimeMs;
    const later = new Date(before + 5_000);
    utimesSync(path.join(copy, 'src', 'config.ts'), later, later);
    const stale = prestart();
    expect(stale.status, stale.stderr).toBe(0);
    expect(stale.stderr).toContain('building dist/');
    expect(statSync(built).mtimeMs).toBeGreaterThan(before);

    expect(prestart().stderr).toBe('');
  }, 150_000);

  it('a checkout without dist/ and without TypeScript says what to run', () => {
    const bare = path.join(work, 'bare');
    mkdirSync(bare);
    for (const entry of ['package.json', 'bin', 'src']) cpSync(path.join(copy, entry), path.join(bare, entry), { recursive: true });
    const res = spawnSync(process.execPath, [path.join(bare, 'bin', 'build-if-stale.js')], { cwd: bare, encoding: 'utf8' });
    expect(res.status).toBe(1);
    expect(res.stderr.trim()).toBe('reghook: dist/ is missing and TypeScript is not installed; run npm ci (with dev dependencies) to build');
    expect(listFiles(bare).some((file) => file.startsWith('dist'))).toBe(false);
  });
});
