/**
 * The import direction of src/ (style.md §6): the data path reads top to bottom, and a folder may
 * import only itself and the folders listed before it. The pure folders carry no framework, no model
 * runtime, no network and no file I/O, so training and serving share them as plain functions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const SRC = path.join(__dirname, '..', 'src');

/** Top to bottom. `types` holds ambient declarations only. */
const LAYERS = ['types', 'common', 'config', 'fhir', 'terminology', 'timeline', 'leader', 'inference', 'recommend',
  'cds-hooks', 'ehr', 'health', 'mimic', 'teacher', 'training', 'cli'] as const;

/** Packages and built-ins a pure folder must not import. terminology reads fhir-mappings/ once at load. */
const IMPURE = [/^@nestjs\//, /^onnxruntime-node$/, /^node-llama-cpp$/, /^fhir-kit-client$/, /^node:(http|https|net|child_process)$/, /^pino$/];
const PURE: Record<string, RegExp[]> = {
  terminology: IMPURE,
  timeline: [...IMPURE, /^node:fs/],
  leader: [...IMPURE, /^node:fs/],
  recommend: [...IMPURE, /^node:fs/],
};

interface ImportEdge { file: string; specifier: string }

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [p] : [];
  });
}

function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(file, 'utf8');
  const edges: ImportEdge[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)|\brequire\(\s*'([^']+)'\s*\)/gm)) {
    edges.push({ file, specifier: m[1] ?? m[2] ?? m[3] ?? m[4] });
  }
  return edges;
}

function folderOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length > 1 ? rel[0] : '(root)';
}

describe('src/ import direction', () => {
  const edges = sourceFiles(SRC).flatMap(importsOf);

  it('finds the source files', () => {
    expect(edges.length).toBeGreaterThan(100);
  });

  it('has every folder in the layer list', () => {
    const folders = new Set(sourceFiles(SRC).map(folderOf).filter((f) => f !== '(root)'));
    expect([...folders].filter((f) => !(LAYERS as readonly string[]).includes(f))).toEqual([]);
  });

  it('imports only from the same folder or folders above it', () => {
    const rank = new Map<string, number>(LAYERS.map((l, i) => [l, i]));
    const violations = edges.filter((e) => e.specifier.startsWith('.')).flatMap((e) => {
      const from = folderOf(e.file);
      const target = path.resolve(path.dirname(e.file), e.specifier);
      if (!target.startsWith(SRC + path.sep)) return [];
      const to = folderOf(target);
      if (from === '(root)' || to === from) return [];
      return (rank.get(to) ?? Infinity) > (rank.get(from) ?? -1) ? [`${path.relative(SRC, e.file)} → ${e.specifier}`] : [];
    });
    expect(violations).toEqual([]);
  });

  it('keeps the pure folders free of frameworks, runtimes, network and (but for terminology) file I/O', () => {
    const violations = edges.flatMap((e) => {
      const banned = PURE[folderOf(e.file)];
      return banned?.some((re) => re.test(e.specifier)) ? [`${path.relative(SRC, e.file)} → ${e.specifier}`] : [];
    });
    expect(violations).toEqual([]);
  });
});
