/**
 * CDS Hooks service cost: autocannon against order-select with a full prefetch (the app in-process on
 * 127.0.0.1, auth disabled, loopback only), next to raw StudentModel.predict batch-1 inferences/s of
 * the same model and the same patient in the same run; the ratio says how much of the model's
 * throughput survives the HTTP path (goal: p99 ≤ 5 ms and ratio ≥ 0.5 on 2 cores).
 */
import { existsSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApp } from '../src/app.factory';
import { buildDemoRequest } from '../src/cds-hooks/demo/demo-request.builder';
import { draftMedications, targetVisitOf } from '../src/cds-hooks/serving/current-visit';
import type { CdsRequest } from '../src/cds-hooks/cds-hooks.types';
import { createLogger } from '../src/common/logger';
import { loadAppConfig, repoRoot } from '../src/config/app-config';
import { openFhirSource } from '../src/fhir/fhir-source';
import type { PatientResources } from '../src/fhir/fhir-source.types';
import { StudentModel } from '../src/inference/student-model';
import { buildStudentBatch } from '../src/leader/tensors/student-batch';
import { buildStudentSample } from '../src/leader/tensors/student-sample';
import { Vocabulary } from '../src/leader/tensors/vocabulary';
import { Terminology } from '../src/terminology/terminology';
import { buildTimeline } from '../src/timeline/timeline';

const SERVICE = 'leader-medications-order-select';

/** FHIR data for the request: LEADER_BENCH_FHIR, else a converted MIMIC-IV demo in .work/, else the CDS test fixture. */
function benchFhirLocation(root: string): string {
  if (process.env.LEADER_BENCH_FHIR) return process.env.LEADER_BENCH_FHIR;
  const converted = path.join(root, '.work', 'mimic-iv-fhir');
  return existsSync(path.join(converted, 'Patient.ndjson')) ? converted : path.join(root, 'test', 'fixtures', 'cds', 'fhir');
}

/** The first patient with at least two encounters (a history to encode and a visit to order in). */
async function benchPatient(location: string): Promise<PatientResources> {
  const source = await openFhirSource(location);
  let fallback: PatientResources | undefined;
  for await (const p of source.patients()) {
    if (p.encounters.length >= 2 && p.medicationRequests.length > 0) return p;
    fallback ??= p;
  }
  if (!fallback) throw new Error(`${location}: no patients`);
  return fallback;
}

export async function runCdsHooksBench(): Promise<void> {
  const root = repoRoot();
  const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 1);
  const modelDir = process.env.LEADER_MODEL_DIR ? path.resolve(process.env.LEADER_MODEL_DIR) : path.join(root, 'models', 'default');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cds-bench-'));
  const model = await StudentModel.load(modelDir);
  const terminology = await Terminology.load();
  const location = benchFhirLocation(root);
  const patient = await benchPatient(location);
  const request = buildDemoRequest(patient, { hook: 'order-select' }) as CdsRequest & { hook: 'order-select' };
  const body = JSON.stringify(request);

  // Raw model: the same patient's batch-1 sample, predict only.
  const vocab = Vocabulary.fromJSON(model.vocab);
  const drafts = draftMedications(request.context.draftOrders, patient.medications, terminology);
  const target = targetVisitOf(buildTimeline(patient, terminology), request.context.encounterId, drafts, patient.patient.birthDate, new Date());
  const batch = buildStudentBatch([buildStudentSample(target.timeline, target.index, vocab, model.manifest.io?.maxVisits)]);
  for (let i = 0; i < 200; i++) await model.predict(batch);
  const rawSeconds = Math.min(5, durationS);
  let inferences = 0;
  const started = process.hrtime.bigint();
  const until = started + BigInt(Math.round(rawSeconds * 1e9));
  while (process.hrtime.bigint() < until) {
    await model.predict(batch);
    inferences++;
  }
  const rawPerSecond = inferences / (Number(process.hrtime.bigint() - started) / 1e9);

  const config = loadAppConfig({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: dataDir, LOG_LEVEL: 'warn', LEADER_MODEL_DIR: modelDir });
  const app = await createApp({ config, logger: createLogger('warn'), model, terminology });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/cds-services/${SERVICE}`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;
  try {
    const check = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    if (check.status !== 200) throw new Error(`order-select answered ${check.status}: ${(await check.text()).slice(0, 200)}`);
    const cards = ((await check.json()) as { cards: unknown[] }).cards.length;
    await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: 2 }); // warm-up
    // The load generator runs in a worker thread so it does not share the server's event loop.
    const result = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: durationS, workers: 1 });
    const rps = result.requests.average;
    const lines = [
      `cds-hooks order-select (${path.relative(root, location) || location}, Patient with ${patient.encounters.length} encounters, ${patient.medicationRequests.length} MedicationRequests; body ${(body.length / 1024).toFixed(0)} KiB; ${cards} cards)`,
      `  model ${model.manifest.name} ${model.manifest.version}; ${os.cpus().length} CPUs; autocannon ${connections} connection(s), ${durationS} s, load in a worker thread, 127.0.0.1`,
      `  HTTP      p50 ${result.latency.p50.toFixed(2)} ms  p99 ${result.latency.p99.toFixed(2)} ms  ${rps.toFixed(0)} req/s  (${result.non2xx} non-2xx, ${result.errors} errors)`,
      `  raw ORT   ${rawPerSecond.toFixed(0)} inferences/s (StudentModel.predict, batch 1, ${(1000 / rawPerSecond).toFixed(3)} ms each)`,
      `  ratio     ${(rps / rawPerSecond).toFixed(3)} (req/s ÷ inferences/s; goal ≥ 0.5)   p99 goal ≤ 5 ms: ${result.latency.p99 <= 5 ? 'met' : 'NOT met'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (result.non2xx > 0 || result.errors > 0) throw new Error('the service answered errors under load');
  } finally {
    await app.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

interface AutocannonResult {
  latency: { p50: number; p99: number };
  requests: { average: number };
  non2xx: number;
  errors: number;
}

if (require.main === module) {
  runCdsHooksBench().catch((e) => {
    process.stderr.write(`cds-hooks bench: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}
