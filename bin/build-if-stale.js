#!/usr/bin/env node
/* global process, console */
/**
 * `npm start`'s pre-step: builds dist/ only when it is missing or older than what it is built from.
 * In a packed package there is no src/ and dist/ is the build: nothing to do (and no TypeScript,
 * since `npm ci --omit=dev` does not install it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const INPUTS = ['src', 'bench', 'examples', 'tsconfig.json', 'tsconfig.build.json', 'packages/receiver/src', 'packages/receiver/tsconfig.json'];

/** Every file under the given paths (a missing path has none). */
function* files(target) {
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) {
    yield target;
    return;
  }
  for (const entry of readdirSync(target, { withFileTypes: true })) yield* files(path.join(target, entry.name));
}

const mtime = (file) => statSync(file).mtimeMs;

if (!existsSync(path.join(root, 'src'))) process.exit(0);
// Every build rewrites every output, so the entry point's time is the build's.
const built = path.join(root, 'dist', 'src', 'cli.js');
const missing = !existsSync(built);
const newestInput = Math.max(...INPUTS.flatMap((input) => [...files(path.join(root, input))].map(mtime)));
if (!missing && newestInput <= mtime(built)) process.exit(0);

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  console.error(`reghook: dist/ is ${missing ? 'missing' : 'older than src/'} and TypeScript is not installed; run npm ci (with dev dependencies) to build`);
  process.exit(1);
}
console.error(`reghook: building dist/ (${missing ? 'missing' : 'older than its sources'})`);
// The receiver SDK first: the server's build reads its declarations (it is a package of its own).
for (const project of [path.join('packages', 'receiver', 'tsconfig.json'), 'tsconfig.build.json']) {
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, project)], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
