/** Summarises a V8 `.cpuprofile`: self time per function and per origin (package / file). */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  functions: { name: string; where: string; selfMs: number; share: number }[];
  origins: { origin: string; selfMs: number; share: number }[];
}

/** Where a frame comes from: a package, a reghook source file, Node internals, or V8 itself. */
function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/').slice(0, 2).join('/');
  const src = /\/dist\/(src\/.*)$/.exec(url);
  if (src) return src[1]!.replace(/\.js$/, '.ts');
  return path.basename(url);
}

const maps = new Map<string, { map: SourceMap; lines: string[] } | null>();

/**
 * A reghook frame in its TypeScript source (from the build's source map): `file.ts:line`, and for an
 * anonymous function the class method or function it sits in (`claimDue › (anonymous)`).
 */
function sourceFrame(url: string, line0: number, column0: number, name: string): { name: string; where: string } | null {
  if (!url.startsWith('file://') || !url.includes('/dist/src/')) return null;
  let entry = maps.get(url);
  if (entry === undefined) {
    entry = null;
    try {
      const js = fileURLToPath(url);
      const map = new SourceMap(JSON.parse(readFileSync(js + '.map', 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
      const ts = path.resolve(path.dirname(js), (JSON.parse(readFileSync(js + '.map', 'utf8')) as { sources: string[] }).sources[0]!);
      entry = { map, lines: existsSync(ts) ? readFileSync(ts, 'utf8').split('\n') : [] };
    } catch {
      entry = null;
    }
    maps.set(url, entry);
  }
  if (!entry) return null;
  const found = entry.map.findEntry(line0, column0) as { originalLine?: number; originalSource?: string };
  if (found.originalLine === undefined) return null;
  const file = /\/(src\/.*)$/.exec(found.originalSource ?? '')?.[1] ?? 'src/?';
  let label = name;
  if (name === '' || name === '(anonymous)') {
    // The enclosing method: the nearest line above at class-member or top-level indentation.
    for (let l = found.originalLine; l >= 0; l--) {
      const m = /^(?: {2})?(?:export\s+)?(?:async\s+|private\s+|public\s+|static\s+|function\s+)*([A-Za-z_$][\w$]*)\s*[(<]/.exec(entry.lines[l] ?? '');
      if (m && !['if', 'for', 'while', 'switch', 'return', 'catch'].includes(m[1]!)) {
        label = `${m[1]} › (anonymous)`;
        break;
      }
    }
  }
  return { name: label || '(anonymous)', where: `${file}:${found.originalLine + 1}` };
}

export function summariseProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const origins = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    if (functionName === '(idle)') idleUs += us;
    const mapped = sourceFrame(url, lineNumber, columnNumber, functionName);
    const name = mapped?.name ?? (functionName || '(anonymous)');
    const where = mapped?.where ?? (url ? `${originOf(url, functionName)}:${lineNumber + 1}` : '');
    const key = `${name}@${where}`;
    const entry = fn.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    fn.set(key, entry);
    const origin = originOf(url, functionName);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    functions: [...fn.values()]
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, share: f.us / busyUs })),
    origins: [...origins.entries()]
      .filter(([o]) => o !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([origin, us]) => ({ origin, selfMs: us / 1000, share: us / busyUs })),
  };
}
