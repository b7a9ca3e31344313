/**
 * The architecture rules of eslint.config.mjs catch what they claim to: probe sources (linted in
 * memory, never written) that break each rule get exactly that rule's errors, and clean ones get none.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '..');

interface Probe { file: string; source: string }

/** One ESLint process (the config loads once) lints every probe with the project's eslint.config.mjs. */
function lintAll(probes: Probe[]): Promise<string[][]> {
  const script = `
    import { ESLint } from 'eslint';
    const probes = JSON.parse(process.argv[1]);
    const eslint = new ESLint();
    const out = [];
    for (const p of probes) {
      const [result] = await eslint.lintText(p.source, { filePath: p.file });
      out.push(result.messages.map((m) => m.ruleId ?? m.message).sort());
    }
    process.stdout.write(JSON.stringify(out));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(probes)], { cwd: repo, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`eslint probe failed: ${stderr || error.message}`));
      resolve(JSON.parse(stdout) as string[][]);
    });
  });
}

const IMPURE = "import { readFileSync } from 'node:fs';\nimport { Injectable } from '@nestjs/common';\nexport const x = [readFileSync, Injectable];\n";
const REQUIRED = "// eslint-disable-next-line @typescript-eslint/no-require-imports\nexport const ort = require('onnxruntime-node');\n";
const ENV = 'export const port = process.env.PORT;\n';
const DEP = 'boundaries/dependencies';

const CASES: Array<[string, Probe, string[]]> = [
  ['an import from a folder further down', { file: 'src/fhir/probe.ts', source: "import { runCli } from '../cli/main';\nexport const x = runCli;\n" }, [DEP]],
  ['an import from a folder further up', { file: 'src/cli/probe.ts', source: "import { runCli } from './main';\nimport { sha256Hex } from '../common/sha256';\nexport const x = [runCli, sha256Hex];\n" }, []],
  ['node:fs and Nest in a pure folder', { file: 'src/timeline/probe.ts', source: IMPURE }, [DEP, DEP]],
  ['node:fs and Nest in terminology (which may read files)', { file: 'src/terminology/probe.ts', source: IMPURE }, [DEP]],
  ['a model runtime require()d in a pure folder', { file: 'src/recommend/probe.ts', source: REQUIRED }, [DEP]],
  ['process.env outside config and cli', { file: 'src/inference/probe.ts', source: ENV }, ['no-restricted-properties']],
  ['process.env in src/config', { file: 'src/config/probe.ts', source: ENV }, []],
  ['process.env in src/cli', { file: 'src/cli/probe.ts', source: ENV }, []],
  ['a folder the layers do not name', { file: 'src/newfolder/probe.ts', source: 'export const x = 1;\n' }, ['boundaries/no-unknown-files']],
  ['an edge surface importing recommend', { file: 'src/ehr/probe.ts', source: "import { recommend } from '../recommend/recommend';\nexport const x = recommend;\n" }, []],
  ['an edge surface importing its sibling ehr', { file: 'src/smart/probe.ts', source: "import { EhrServer } from '../ehr/ehr-server';\nexport const x = EhrServer;\n" }, [DEP]],
];

describe('eslint.config.mjs architecture rules', () => {
  let results: string[][];
  beforeAll(async () => {
    results = await lintAll(CASES.map((c) => c[1]));
  });

  it.each(CASES.map((c, i) => [c[0], i, c[2]] as const))('%s', (_name, i, expected) => {
    expect(results[i]).toEqual(expected);
  });
});
