/**
 * The probabilities a clinician sees are the calibrated ones, and they are the ones `leader evaluate`
 * scores: a copy of models/default with a strong temperature (2.5) is served; for MIMIC-IV demo patient
 * 10000032 (a `leader demo-request` order-select request) every class on the card carries the percentage
 * that evaluate's scoring (scoreWithStudent, the same StudentModel) gives that patient's dataset sample,
 * and not the uncalibrated one.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { runDemoRequestCommand } from '../../src/cli/commands/demo-request.command';
import { SHARED_DATA } from '../support/shared-data';
import { StudentModel } from '../../src/inference/student-model';
import { readDataset } from '../../src/training/dataset.reader';
import { scoreWithStudent } from '../../src/training/evaluate';
import { lastVisitSamples } from '../../src/training/splits';
import { CdsTestApp, startCdsApp } from '../support/cds-test-app';
import { repoRoot, runLeader, type CliRun } from '../support/leader-cli';

const MAPPINGS = process.env.LEADER_FHIR_MAPPINGS ?? path.join(repoRoot, 'fhir-mappings');
const env = { LEADER_FHIR_MAPPINGS: MAPPINGS };
const TEMPERATURE = 2.5;

function ok(run: CliRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (${run.code}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}

/** `- Name (ATC A10B): 83%` lines of the card details → { A10B: 83 }. */
function percentagesOnCards(cards: { detail?: string }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of cards) for (const m of (c.detail ?? '').matchAll(/\(ATC ([A-Z0-9]+)\): (\d+)%/g)) out.set(m[1], Number(m[2]));
  return out;
}

describe('calibrated probabilities: serving = leader evaluate (e2e)', () => {
  let tmp: string;
  let modelDir: string;
  let t: CdsTestApp;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'leader-calibrated-'));
    modelDir = path.join(tmp, 'model');
    await fs.cp(path.join(repoRoot, 'models', 'default'), modelDir, { recursive: true });
    const manifestFile = path.join(modelDir, 'manifest.json');
    const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as Record<string, unknown>;
    manifest.calibration = { method: 'temperature', temperature: TEMPERATURE, fittedOn: 'test: fixed' };
    await fs.writeFile(manifestFile, JSON.stringify(manifest));
    process.env.LEADER_TEST_MODEL_DIR = modelDir;
    ok(await runLeader(['mimic-to-fhir', '--source', path.join(SHARED_DATA, 'mimic-iv-demo-2.2'), '--out', path.join(tmp, 'fhir'), '--quiet'], env), 'mimic-to-fhir');
    // Built as scripts/train-default.sh builds models/default's dataset (one sample per visit).
    ok(await runLeader(['dataset', '--fhir', path.join(tmp, 'fhir'), '--out', path.join(tmp, 'dataset'), '--seed', '42', '--per-visit', '--quiet'], env), 'dataset');
    t = await startCdsApp({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: tmp });
  }, 300_000);

  afterAll(async () => {
    delete process.env.LEADER_TEST_MODEL_DIR;
    await t?.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('shows, for the same patient, the probabilities evaluate scores (calibrated, not raw)', async () => {
    let body = '';
    await runDemoRequestCommand({ patient: '10000032', fhir: path.join(tmp, 'fhir'), hook: 'order-select', url: t.url }, (s) => { body += s; }, () => {});
    const hookRequest = JSON.parse(body) as { context: { patientId: string } };
    const res = await request(t.url).post('/cds-services/leader-medications-order-select').send(hookRequest).expect(200);
    const shown = percentagesOnCards(res.body.cards);
    expect(shown.size).toBeGreaterThan(0);

    const dataset = await readDataset(path.join(tmp, 'dataset'));
    // demo-request asks at the patient's last visit: the sample evaluate scores for that patient.
    const sample = lastVisitSamples(dataset.samples).find((s) => s.patientId === hookRequest.context.patientId);
    expect(sample).toBeDefined();
    const calibrated = await StudentModel.load(modelDir);
    const raw = await StudentModel.load(path.join(repoRoot, 'models', 'default'));
    try {
      expect(calibrated.temperature).toBe(TEMPERATURE);
      const evaluated = await scoreWithStudent(calibrated, [sample!]);
      const uncalibrated = await scoreWithStudent(raw, [sample!]);
      const pct = (p: number) => Math.round(p * 100);
      let differsFromRaw = 0;
      for (const [atc3, percent] of shown) {
        const m = calibrated.manifest.labels.indexOf(atc3);
        expect({ atc3, percent }).toEqual({ atc3, percent: pct(evaluated[m]) });
        if (pct(uncalibrated[m]) !== percent) differsFromRaw++;
      }
      expect(differsFromRaw).toBeGreaterThan(0);
    } finally {
      await calibrated.release();
      await raw.release();
    }
  });
});
