/**
 * node-llama-cpp (730 MB, native, ESM-only) must never load with the service: only `leader teacher`
 * and the bench reach llama-cpp.backend.ts. This walks the static and dynamic import graph of
 * everything the service boots (src/main.ts) and fails if any reachable file mentions it.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '..');
const SPECIFIER = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|require\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;

function resolveLocal(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec.replace(/\.js$/, ''));
  return [`${base}.ts`, path.join(base, 'index.ts')].find((f) => existsSync(f));
}

/** Files reachable from `entry`, and the bare package specifiers each one imports. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (graph.has(file)) continue;
    const source = readFileSync(file, 'utf8');
    const packages: string[] = [];
    graph.set(file, packages);
    for (const m of source.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      if (spec.startsWith('.')) {
        const target = resolveLocal(file, spec);
        if (target) queue.push(target);
      } else packages.push(spec);
    }
  }
  return graph;
}

describe('service isolation from node-llama-cpp', () => {
  it('finds the teacher backend through the CLI graph (the walker sees dynamic requires)', () => {
    const graph = importGraph(path.join(SRC, 'cli', 'commands', 'teacher.command.ts'));
    expect([...graph.keys()]).toContain(path.join(SRC, 'teacher', 'llama-cpp.backend.ts'));
    expect(graph.get(path.join(SRC, 'teacher', 'llama-cpp.backend.ts'))).toContain('node-llama-cpp');
  });

  it('reaches neither node-llama-cpp nor src/teacher backends from src/main.ts', () => {
    const entry = path.join(SRC, 'main.ts');
    const graph = importGraph(entry);
    expect(graph.size).toBeGreaterThan(5); // the walker followed the app's imports
    const offenders = [...graph].filter(([file, pkgs]) => pkgs.includes('node-llama-cpp') || file.includes(`${path.sep}teacher${path.sep}`) || file.includes(`${path.sep}cli${path.sep}`));
    expect(offenders.map(([f]) => path.relative(SRC, f))).toEqual([]);
  });
});
