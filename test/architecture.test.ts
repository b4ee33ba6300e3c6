/**
 * The layering of STYLE.md, checked on the source itself: no import cycle anywhere in src/; the
 * API and the dashboard never import each other; domain/ does no I/O (randomness for ids aside); the receiver SDK imports
 * only node: built-ins and is its own package (packages/receiver), which src/ imports by name only; API,
 * dashboard, operations and the dispatcher see the Store interface, never a store implementation. Type-only imports are not edges (they vanish at build time).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');
const RECEIVER = path.resolve(import.meta.dirname, '../packages/receiver/src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Value imports of each file: relative ones resolved to src-relative paths, packages by name. */
function importGraph(root = SRC): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  // `import x from '…'`, `import { a } from '…'`, `export { a } from '…'`, `import '…'`; not `import type` / `export type`.
  const statement = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(statement)) {
      const spec = m[1]!;
      targets.push(spec.startsWith('.') ? path.relative(root, path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'))) : spec);
    }
    graph.set(path.relative(root, file), targets);
  }
  return graph;
}

/** Every cycle's files, by Tarjan's strongly connected components (components of one file without a self-edge are no cycle). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found;
}

const graph = importGraph();
const importsOf = (folder: string) =>
  [...graph].filter(([file]) => file.startsWith(`${folder}/`)).flatMap(([file, targets]) => targets.map((target) => ({ file, target })));

describe('the architecture of src/', () => {
  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself works)', () => {
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('api/ and dashboard/ never import each other', () => {
    expect(importsOf('api').filter((e) => e.target.startsWith('dashboard/'))).toEqual([]);
    expect(importsOf('dashboard').filter((e) => e.target.startsWith('api/'))).toEqual([]);
  });

  it('domain/ does no I/O: it imports only domain/, the receiver event type and randomness (node:crypto, for ids)', () => {
    const allowed = (target: string) => target.startsWith('domain/') || target === '@reghook/receiver' || target === 'node:crypto';
    expect(importsOf('domain').filter((e) => !allowed(e.target))).toEqual([]);
  });

  it('the receiver SDK (packages/receiver) imports only its own files and node: built-ins, and has no cycle', () => {
    const receiver = importGraph(RECEIVER);
    const outside = [...receiver].flatMap(([file, targets]) => targets.filter((t) => !t.startsWith('node:') && !receiver.has(t)).map((target) => ({ file, target })));
    expect(outside).toEqual([]);
    expect(cycles(receiver)).toEqual([]);
  });

  it('src/ reaches the receiver package by its name only, never by a path into packages/', () => {
    expect([...graph].flatMap(([file, targets]) => targets.filter((t) => t.includes('packages/')).map((target) => ({ file, target })))).toEqual([]);
  });

  it('api/, dashboard/, operations/ and dispatch/ see the Store interface, never a store implementation', () => {
    for (const folder of ['api', 'dashboard', 'operations', 'dispatch']) {
      expect(importsOf(folder).filter((e) => /^store\/(sqlite|postgres)\//.test(e.target)), folder).toEqual([]);
    }
  });
});
