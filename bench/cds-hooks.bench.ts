/**
 * CDS Hooks service cost: autocannon against order-select with a full prefetch (the app in-process
 * on 127.0.0.1, auth disabled, loopback only, load generated in a worker thread), for a median-sized
 * and the largest demo patient, at 1 and 8 connections, next to raw StudentModel.predict batch-1
 * inferences/s of the same model and the same patient's sample measured in the same run. Also a
 * per-phase split of one request's CPU work (no HTTP), so the figures can be explained.
 * Goal (the issue): p99 ≤ 5 ms and ratio ≥ 0.5 on 2 cores.
 * Env: BENCH_DURATION_S (seconds per autocannon run, default 5, at most 10), LEADER_BENCH_FHIR,
 * LEADER_MODEL_DIR. Total run time about 40 s.
 */
import { existsSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApp } from '../src/app.factory';
import { buildCards } from '../src/cds-hooks/cards/card.builder';
import { DEFAULT_PREFETCH } from '../src/cds-hooks/cds-services.registry';
import { buildDemoRequest } from '../src/cds-hooks/demo/demo-request.builder';
import { CdsRequestPipe } from '../src/cds-hooks/dto/cds-request.pipe';
import { PrefetchResolver } from '../src/cds-hooks/prefetch/prefetch.resolver';
import { draftMedications, targetVisitOf } from '../src/cds-hooks/serving/current-visit';
import { loadModelExtras } from '../src/cds-hooks/serving/model-extras';
import { RecommendationEngine } from '../src/cds-hooks/serving/recommendation.engine';
import { occlusionVariants } from '../src/recommend/evidence';
import type { CdsRequest } from '../src/cds-hooks/cds-hooks.types';
import { createLogger } from '../src/common/logger';
import { loadAppConfig, repoRoot } from '../src/config/app-config';
import { openFhirSource } from '../src/fhir/fhir-source';
import type { PatientResources } from '../src/fhir/fhir-source.types';
import { StudentModel } from '../src/inference/student-model';
import { buildStudentBatch } from '../src/leader/tensors/student-batch';
import { buildStudentSample, withCodedVisits } from '../src/leader/tensors/student-sample';
import type { StudentBatch } from '../src/leader/tensors/student-input.types';
import { Vocabulary } from '../src/leader/tensors/vocabulary';
import { DdiIndex } from '../src/recommend/ddi-index';
import { recommend } from '../src/recommend/recommend';
import { Terminology } from '../src/terminology/terminology';
import { buildTimeline, timelineStages } from '../src/timeline/timeline';

const SERVICE = 'leader-medications-order-select';
const CONNECTIONS = [1, 8];

/** FHIR data for the requests: LEADER_BENCH_FHIR, else a converted MIMIC-IV demo in .work/, else the CDS test fixture. */
export function benchFhirLocation(root: string): string {
  if (process.env.LEADER_BENCH_FHIR) return process.env.LEADER_BENCH_FHIR;
  const converted = path.join(root, '.work', 'mimic-iv-fhir');
  return existsSync(path.join(converted, 'Patient.ndjson')) ? converted : path.join(root, 'test', 'fixtures', 'cds', 'fhir');
}

export interface BenchPatient {
  label: string;
  patient: PatientResources;
  request: CdsRequest & { hook: 'order-select' };
  body: string;
}

/**
 * The median-sized and the largest order-select request (by body bytes) over the patients with a
 * history (≥ 2 encounters) and medication orders; the first patient when none qualifies.
 */
export async function benchPatients(location: string): Promise<BenchPatient[]> {
  const source = await openFhirSource(location);
  const all: BenchPatient[] = [];
  let fallback: PatientResources | undefined;
  for await (const p of source.patients()) {
    fallback ??= p;
    if (p.encounters.length < 2 || p.medicationRequests.length === 0) continue;
    const request = buildDemoRequest(p, { hook: 'order-select' }) as CdsRequest & { hook: 'order-select' };
    all.push({ label: '', patient: p, request, body: JSON.stringify(request) });
  }
  if (all.length === 0) {
    if (!fallback) throw new Error(`${location}: no patients`);
    const request = buildDemoRequest(fallback, { hook: 'order-select' }) as CdsRequest & { hook: 'order-select' };
    return [{ label: 'only patient', patient: fallback, request, body: JSON.stringify(request) }];
  }
  all.sort((a, b) => a.body.length - b.body.length);
  const median = { ...all[Math.floor((all.length - 1) / 2)], label: `median of ${all.length}` };
  const largest = { ...all[all.length - 1], label: `largest of ${all.length}` };
  return median.body === largest.body ? [median] : [median, largest];
}

/** Batch-1 predict calls per second on this thread for `seconds` (after a warm-up). */
async function rawInferencesPerSecond(model: StudentModel, batch: StudentBatch, seconds: number): Promise<number> {
  for (let i = 0; i < 100; i++) await model.predict(batch);
  let inferences = 0;
  const started = process.hrtime.bigint();
  const until = started + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < until) {
    await model.predict(batch);
    inferences++;
  }
  return inferences / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** Median milliseconds of `fn` over fresh inputs (`prepare` is not timed), after a warm-up. */
async function medianMs<T>(runs: number, prepare: () => Promise<T> | T, fn: (input: T) => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs + 10; i++) {
    const input = await prepare();
    const started = process.hrtime.bigint();
    await fn(input);
    if (i >= 10) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** One request's CPU work by phase, without HTTP (each phase on freshly parsed input, as a request sees it). */
async function phaseSplit(bp: BenchPatient, model: StudentModel, terminology: Terminology, vocab: Vocabulary, maxVisits: number | undefined): Promise<string> {
  const runs = bp.body.length > 1_000_000 ? 30 : 100;
  const pipe = new CdsRequestPipe(loadAppConfig({ CDS_AUTH_DISABLED: 'true' }));
  const resolver = new PrefetchResolver(() => {
    throw new Error('the bench request carries its whole prefetch');
  });
  const ddi = DdiIndex.fromIndexPairs(model.ddi.labels, model.ddi.pairs);
  const parsed = () => JSON.parse(bp.body) as CdsRequest & { hook: 'order-select' };
  const resolved = async () => {
    const request = parsed();
    return { request, resolved: await resolver.resolve(request, DEFAULT_PREFETCH) };
  };
  const windowOf = async () => {
    const { request, resolved: r } = await resolved();
    const drafts = draftMedications(request.context.draftOrders, r.resources.medications, terminology);
    const target = targetVisitOf(buildTimeline(r.resources, terminology), request.context.encounterId, drafts, r.resources.patient.birthDate, new Date());
    return { target, window: withCodedVisits(target.timeline, target.index) };
  };
  const { target, window } = await windowOf();
  const batch = buildStudentBatch([buildStudentSample(window.timeline, window.targetVisitIndex, vocab, maxVisits)]);
  const prediction = await model.predict(batch);
  const phases: [string, number][] = [
    ['JSON.parse', await medianMs(runs, () => bp.body, (body) => JSON.parse(body))],
    ['envelope validation', await medianMs(runs, parsed, (request) => pipe.transform(request))],
    ['prefetch resolve', await medianMs(runs, parsed, (request) => resolver.resolve(request, DEFAULT_PREFETCH))],
    ['timeline + target visit', await medianMs(runs, resolved, ({ request, resolved: r }) => {
      const drafts = draftMedications(request.context.draftOrders, r.resources.medications, terminology);
      const t = targetVisitOf(buildTimeline(r.resources, terminology), request.context.encounterId, drafts, r.resources.patient.birthDate, new Date());
      return withCodedVisits(t.timeline, t.index);
    })],
    ['sample + tensors', await medianMs(runs, () => window, (w) => buildStudentBatch([buildStudentSample(w.timeline, w.targetVisitIndex, vocab, maxVisits)]))],
    ['predict (ORT)', await medianMs(runs, () => batch, (b) => model.predict(b))],
    ['recommend + cards + JSON', await medianMs(runs, () => prediction, (p) => JSON.stringify({
      cards: buildCards(recommend({
        labels: model.manifest.labels, probs: p.probs, threshold: model.manifest.threshold, current: [], patientProducts: new Map(), neverSuggest: [],
        drafts: target.draftedAtc3.map((atc3) => ({ orderRef: 'MedicationRequest/bench', drug: atc3, atc3: [atc3], atTheOrder: true })),
        ddi, className: (atc3) => model.manifest.labelNames?.[atc3] ?? terminology.atc3Name(atc3), priorVisits: window.targetVisitIndex,
      }), { hook: 'order-select', patientId: bp.request.context.patientId, source: { label: 'bench', url: 'http://127.0.0.1/models/bench' }, newUuid: () => 'uuid' }),
    }))],
  ];
  const sum = phases.reduce((s, [, ms]) => s + ms, 0);
  const engine = new RecommendationEngine(model, terminology, timelineStages, loadModelExtras(model.dir, model.manifest));
  const engineMs = (evidence: boolean) => medianMs(runs, resolved, ({ request, resolved: r }) => engine.recommend({
    hook: 'order-select', resources: r.resources, medicationStatements: r.medicationStatements, draftOrders: request.context.draftOrders,
    ...(request.context.encounterId ? { encounterId: request.context.encounterId } : {}), selections: request.context.selections, evidence,
  }, new Date()));
  const without = await engineMs(false);
  const withEvidence = await engineMs(true);
  const variants = occlusionVariants(buildStudentSample(window.timeline, window.targetVisitIndex, vocab, maxVisits)).variants.length;
  return `  phases (median ms, no HTTP): ${phases.map(([name, ms]) => `${name} ${ms.toFixed(3)}`).join(' · ')} · sum ${sum.toFixed(2)}\n`
    + `  order-select recommendation (median ms, no HTTP, from the resolved prefetch): without evidence ${without.toFixed(2)} · with evidence ${withEvidence.toFixed(2)} (${variants} occlusion variants in one batch) · ratio ${(withEvidence / without).toFixed(2)}`;
}

export async function runCdsHooksBench(): Promise<void> {
  const root = repoRoot();
  const durationS = Math.min(10, Math.max(1, Number(process.env.BENCH_DURATION_S ?? 5)));
  const modelDir = process.env.LEADER_MODEL_DIR ? path.resolve(process.env.LEADER_MODEL_DIR) : path.join(root, 'models', 'default');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cds-bench-'));
  const model = await StudentModel.load(modelDir);
  const terminology = await Terminology.load();
  const vocab = Vocabulary.fromJSON(model.vocab);
  const maxVisits = model.manifest.io?.maxVisits;
  const location = benchFhirLocation(root);
  const patients = await benchPatients(location);

  const config = loadAppConfig({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: dataDir, LOG_LEVEL: 'warn', LEADER_MODEL_DIR: modelDir });
  const app = await createApp({ config, logger: createLogger('warn'), model, terminology });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/cds-services/${SERVICE}`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const failures: string[] = [];
  try {
    out(`cds-hooks order-select: ${path.relative(root, location) || location}; model ${model.manifest.name} ${model.manifest.version}; ${os.cpus().length} CPUs; autocannon ${durationS} s per run (after 1 s warm-up), load in a worker thread, 127.0.0.1, auth off, logs at warn`);
    out('  ratio = HTTP req/s ÷ raw inferences/s, where raw = StudentModel.predict (batch 1) calls/s on one thread for the same');
    out('  patient\'s sample: the share of the model\'s own throughput left once each request also pays HTTP, JSON parsing of the');
    out('  prefetch, validation, the timeline and the cards (1.0 = those cost nothing). Goal: ratio ≥ 0.5 and p99 ≤ 5 ms.');
    out('  Latency percentiles come from autocannon\'s histogram in whole milliseconds.');
    for (const bp of patients) {
      const p = bp.patient;
      const check = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: bp.body });
      if (check.status !== 200) throw new Error(`order-select answered ${check.status}: ${(await check.text()).slice(0, 200)}`);
      const cards = ((await check.json()) as { cards: unknown[] }).cards.length;
      const drafts = draftMedications(bp.request.context.draftOrders, p.medications, terminology);
      const target = targetVisitOf(buildTimeline(p, terminology), bp.request.context.encounterId, drafts, p.patient.birthDate, new Date());
      const window = withCodedVisits(target.timeline, target.index);
      const batch = buildStudentBatch([buildStudentSample(window.timeline, window.targetVisitIndex, vocab, maxVisits)]);
      const raw = await rawInferencesPerSecond(model, batch, 2);
      out(`\n${bp.label}: ${p.encounters.length} encounters, ${p.conditions.length} Conditions, ${p.medicationRequests.length} MedicationRequests; body ${(bp.body.length / 1024).toFixed(0)} KiB; ${batch.visits} visits in the sample; ${cards} cards`);
      out(`  raw ORT      ${raw.toFixed(0)} inferences/s (${(1000 / raw).toFixed(3)} ms each)`);
      out(await phaseSplit(bp, model, terminology, vocab, maxVisits));
      for (const connections of CONNECTIONS) {
        const opts = { url, method: 'POST', headers: { 'content-type': 'application/json' }, body: bp.body, connections, workers: 1 };
        await autocannon({ ...opts, duration: 1 });
        const r = await autocannon({ ...opts, duration: durationS });
        const rps = r.requests.average;
        const met = r.latency.p99 <= 5 && rps / raw >= 0.5;
        out(`  HTTP c=${String(connections).padEnd(2)}    p50 ${r.latency.p50} ms  p97.5 ${r.latency.p97_5} ms  p99 ${r.latency.p99} ms  mean ${r.latency.average.toFixed(2)} ms  ${rps.toFixed(0)} req/s  ratio ${(rps / raw).toFixed(3)}  goal ${met ? 'met' : 'NOT met'}  (${r.non2xx} non-2xx, ${r.errors} errors)`);
        if (r.non2xx > 0 || r.errors > 0) failures.push(`${bp.label} c=${connections}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      }
    }
    if (failures.length > 0) throw new Error(`the service answered errors under load (${failures.join('; ')})`);
  } finally {
    await app.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

interface AutocannonResult {
  latency: { p50: number; p97_5: number; p99: number; average: number };
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
