// The layers of src/ (docs/architecture.md, "Layers"), checked on the import statements themselves: no file imports
// from a layer above its own, no import cycle among files (type-only imports count), and the facade and the client
// never import each other. A new directory or top-level file must be placed in a layer here before it can land.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/**
 * Top to bottom. An entry is a directory (`runtime/`) or a file (`dbos.ts`) under src/. A file may import from its
 * own layer (when that makes no cycle) and from any layer below it.
 */
const LAYERS: { name: string; members: string[] }[] = [
  { name: 'exports', members: ['index.ts', 'package-object.ts', 'public-api.ts', 'compat-types.ts', 'error-namespace.ts'] },
  { name: 'tools and add-ons', members: ['cli/', 'admin/', 'receivers/', 'datasources/', 'debouncer.ts', 'testing/'] },
  { name: 'facade and client', members: ['dbos.ts', 'client/'] },
  { name: 'process', members: ['process/', 'configured-instance.ts', 'registry-info.ts', 'decorators.ts'] },
  { name: 'services', members: ['queues/', 'scheduler/', 'messaging/', 'management/', 'ops/'] },
  { name: 'engine', members: ['runtime/'] },
  { name: 'observability', members: ['tracing/', 'alerts/'] },
  { name: 'storage and values', members: ['sysdb/', 'serialization/', 'validation.ts', 'status-string.ts'] },
  { name: 'base', members: ['errors.ts', 'redact.ts', 'logger.ts', 'metrics/'] },
];

/** Pairs of one layer that must not import each other in either direction. */
const APART: [string, string][] = [
  ['dbos.ts', 'client/'],
  ['process/', 'client/'],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

// `import … from`, `import type … from`, `export … from`, `import '…'` and `import('…')`.
const IMPORT = /\b(?:import|export)\s+(?:type\s+)?[\w*{}\s,$]*?\s*from\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

/** Each file of src/ with the files of src/ it imports. */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const targets = new Set<string>();
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      if (!specifier.startsWith('.')) continue; // a package
      targets.add(relative(SRC, resolve(SRC, dirname(file), specifier)).replace(/\.js$/, '.ts'));
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

function memberOf(file: string, member: string): boolean {
  return member.endsWith('/') ? file.startsWith(member) : file === member;
}

function layerOf(file: string): number {
  return LAYERS.findIndex((layer) => layer.members.some((m) => memberOf(file, m)));
}

/** Every cycle's files (strongly connected components of more than one file, or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const graph = importGraph();

it('the parser sees the imports of src/ (type-only, re-exports and dynamic ones included)', () => {
  assert.ok(graph.size > 100, `only ${graph.size} files found under ${SRC}`);
  assert.ok(graph.get('index.ts')!.length > 0, 'index.ts re-exports');
  const edges = [...graph.values()].reduce((n, targets) => n + targets.length, 0);
  assert.ok(edges > 300, `only ${edges} imports found`);
  for (const [file, targets] of graph) {
    for (const target of targets) assert.ok(graph.has(target), `${file} imports ${target}, which is not a file of src/`);
  }
});

it('every file of src/ belongs to a layer', () => {
  const unplaced = [...graph.keys()].filter((file) => layerOf(file) < 0);
  assert.deepEqual(unplaced, [], 'place these in LAYERS (and in docs/architecture.md)');
});

it('no file imports from a layer above its own', () => {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (layerOf(file) >= 0 && layerOf(target) >= 0 && layerOf(target) < layerOf(file)) {
        upward.push(`${file} (${LAYERS[layerOf(file)].name}) -> ${target} (${LAYERS[layerOf(target)].name})`);
      }
    }
  }
  assert.deepEqual(upward, []);
});

it('the facade and the client never import each other', () => {
  const crossing: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      for (const [a, b] of APART) {
        if ((memberOf(file, a) && memberOf(target, b)) || (memberOf(file, b) && memberOf(target, a))) crossing.push(`${file} -> ${target}`);
      }
    }
  }
  assert.deepEqual(crossing, []);
});

it('no import cycle among the files of src/', () => {
  assert.deepEqual(cycles(graph), []);
});

it('the cycle check finds a cycle', () => {
  const looped = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']],
  ]);
  assert.deepEqual(cycles(looped), [['a.ts', 'b.ts', 'c.ts']]);
});
