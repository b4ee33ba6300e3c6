/**
 * The headless Chromium the browser tests drive, found without apt:
 *
 * 1. REGHOOK_TEST_CHROMIUM=<path> uses that executable (an error if it is not there);
 *    REGHOOK_TEST_CHROMIUM=npm forces the one that `npm ci` brings (below);
 * 2. otherwise the system's (Debian's /usr/bin/chromium, …) when there is one;
 * 3. otherwise @sparticuz/chromium, a devDependency that carries Chromium inside its npm package.
 *    It is unpacked once per version into <tmp>/reghook-chromium-<version>/ (renamed into place
 *    whole, so parallel test files never run a half-written binary).
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface ChromiumExecutable {
  path: string;
  /** Where it came from: the variable, the system, or the npm package. */
  source: 'REGHOOK_TEST_CHROMIUM' | 'system' | 'npm';
  /** Extra environment the executable needs (the npm one: its fonts and, as a fallback, its NSS libraries). */
  env: Record<string, string>;
}

/** Unpacks @sparticuz/chromium (once per version) and answers its executable and environment. */
async function npmChromium(): Promise<ChromiumExecutable> {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('@sparticuz/chromium');
  } catch (error) {
    throw new Error('No Chromium for the browser tests: none on the system and @sparticuz/chromium is not installed (run npm ci)', { cause: error });
  }
  // build/index.js -> the package folder (its package.json is not exported).
  const packageDir = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const dir = path.join(tmpdir(), `reghook-chromium-${version}`);
  const executable = path.join(dir, 'chromium');
  if (!existsSync(executable)) {
    const staging = mkdtempSync(`${dir}.partial-`);
    // The package unpacks into os.tmpdir(), which follows TMPDIR: point it at the staging folder.
    const savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = staging;
    try {
      const { default: sparticuz, inflate } = await import('@sparticuz/chromium');
      await sparticuz.executablePath(path.join(packageDir, 'bin'));
      // Debian machines usually have NSS; these (built for Amazon Linux) are the fallback.
      await inflate(path.join(packageDir, 'bin', 'al2023.tar.br'));
    } finally {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
    }
    writeFileSync(
      path.join(staging, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${dir}/fonts</dir>\n` +
        `  <dir>/usr/share/fonts</dir>\n  <cachedir>${dir}/fonts-cache</cachedir>\n</fontconfig>\n`,
    );
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another test process unpacked it first: use theirs.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(executable)) throw error;
    }
  }
  const ldLibraryPath = [process.env.LD_LIBRARY_PATH, path.join(dir, 'al2023', 'lib')].filter(Boolean).join(':');
  return { path: executable, source: 'npm', env: { FONTCONFIG_FILE: path.join(dir, 'fonts.conf'), LD_LIBRARY_PATH: ldLibraryPath } };
}

/** Finds the Chromium to test with (see the file comment for the order). */
export async function findChromium(): Promise<ChromiumExecutable> {
  const chosen = process.env.REGHOOK_TEST_CHROMIUM;
  if (chosen === 'npm') return npmChromium();
  if (chosen !== undefined && chosen !== '') {
    if (!existsSync(chosen)) throw new Error(`REGHOOK_TEST_CHROMIUM=${chosen}: no such file (a Chromium executable, or "npm" for the bundled one)`);
    return { path: chosen, source: 'REGHOOK_TEST_CHROMIUM', env: {} };
  }
  const system = SYSTEM_CHROMIUMS.find((candidate) => existsSync(candidate));
  if (system !== undefined) return { path: system, source: 'system', env: {} };
  return npmChromium();
}

/** Launches headless Chromium for a test file; the caller closes it. */
export async function launchChromium(): Promise<Browser> {
  const found = await findChromium();
  process.stderr.write(`browser tests: Chromium ${found.path} (${found.source})\n`);
  return chromium.launch({
    executablePath: found.path,
    args: ARGS,
    env: { ...(process.env as Record<string, string>), ...found.env },
  });
}

/**
 * Takes a screenshot, again (three tries in all) when Chromium answers "Unable to capture
 * screenshot": on a loaded machine its compositor can fail to produce the frame in time (seen once
 * in CI, on the second of three Node versions' suites). Every assertion runs on the page itself;
 * the picture is for people, so a capture is retried rather than the test failed for it.
 */
export async function screenshot(take: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await take();
      return;
    } catch (error) {
      if (attempt >= 3 || !/Unable to capture screenshot/.test(String((error as Error)?.message))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}
