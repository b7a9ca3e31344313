/**
 * `leader cv` on the converted MIMIC-IV demo (2 folds, 1 epoch: the machinery, not the figures):
 * every patient tested once, the student and all baselines per fold, the difference intervals; a rerun
 * reuses finished folds, a lost fold is recomputed alone, and a folder of another run is refused.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SHARED_DATA } from '../support/shared-data';
import { repoRoot, runLeader, type CliRun } from '../support/leader-cli';

const env = { LEADER_FHIR_MAPPINGS: process.env.LEADER_FHIR_MAPPINGS ?? path.join(repoRoot, 'fhir-mappings') };

function ok(run: CliRun, what: string): CliRun {
  if (run.code !== 0) throw new Error(`${what} failed (${run.code}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return run;
}

describe('leader cv (e2e, MIMIC-IV demo, 2 folds)', () => {
  let tmp: string;
  let dataset: string;
  let out: string;
  let first: Record<string, any>;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'leader-cv-e2e-'));
    dataset = path.join(tmp, 'dataset');
    out = path.join(tmp, 'cv');
    ok(await runLeader(['mimic-to-fhir', '--source', path.join(SHARED_DATA, 'mimic-iv-demo-2.2'), '--out', path.join(tmp, 'fhir'), '--quiet'], env), 'mimic-to-fhir');
    ok(await runLeader(['dataset', '--fhir', path.join(tmp, 'fhir'), '--out', dataset, '--seed', '42', '--quiet'], env), 'dataset');
    const run = ok(await runLeader(['cv', '--dataset', dataset, '--folds', '2', '--epochs', '1', '--out', out, '--json'], env, 600_000), 'cv');
    first = JSON.parse(run.stdout);
  }, 900_000);

  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('tests every patient once and reports per-fold, pooled and paired-difference figures for the student and every baseline', () => {
    expect(first.models).toEqual(['student', 'most-frequent-k', 'co-occurrence', 'logistic-regression']);
    expect(first.perFold).toHaveLength(2);
    expect(first.perFold[0].patients.test + first.perFold[1].patients.test).toBe(100);
    expect(first.dataset.patients).toBe(100);
    for (const m of first.models) {
      expect(first.pooled[m].prauc).toBeGreaterThan(0);
      expect(first.pooled[m].prauc).toBeLessThanOrEqual(1);
      expect(first.std[m].prauc).toBeGreaterThanOrEqual(0);
    }
    for (const k of ['prauc', 'jaccard']) {
      const d = first.difference[k];
      expect(first.models).toContain(d.baseline);
      expect(d.low).toBeLessThanOrEqual(d.mean);
      expect(d.high).toBeGreaterThanOrEqual(d.mean);
      expect(d.mean).toBeCloseTo(first.pooled.student[k] - first.pooled[d.baseline][k], 10);
    }
    expect(first.calibration.ece).toBeGreaterThanOrEqual(0);
    expect(first.calibration.ece).toBeLessThan(0.5);
  });

  it('reuses finished folds, recomputes a lost one alone, and refuses a folder of another run', async () => {
    await fs.rm(path.join(out, 'fold-1', 'result.json'));
    const again = ok(await runLeader(['cv', '--dataset', dataset, '--folds', '2', '--epochs', '1', '--out', out, '--json'], env, 600_000), 'cv rerun');
    expect(again.stderr).toContain('fold 1/2: finished earlier, reused');
    expect(again.stderr).toMatch(/fold 2\/2: train/);
    expect(JSON.parse(again.stdout).pooled).toEqual(first.pooled);
    const other = await runLeader(['cv', '--dataset', dataset, '--folds', '2', '--epochs', '1', '--out', out, '--', '--bias-init'], env, 600_000);
    expect(other.code).not.toBe(0);
    expect(other.stderr.trim().split('\n').pop()).toMatch(/^leader: .*fold-0\/result\.json belongs to another run/);
  }, 900_000);
});
