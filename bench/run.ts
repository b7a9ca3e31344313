/**
 * `npm run bench [-- NAME ...]`: every benchmark prints its own figures, each next to a baseline
 * measured in the same run (or the paper's reference figure on these machines, leader.md §9).
 * Names: mimic, student, cds, ehr, smart, subscriptions, teacher, hostile, cv (default: all, in that order).
 */
import { runCdsHooksBench } from './cds-hooks.bench';
import { runCvBench } from './cv.bench';
import { runEhrBench } from './ehr.bench';
import { runHostileBench } from './hostile.bench';
import { runMimicToFhirBench } from './mimic-to-fhir.bench';
import { runSmartApiBench } from './smart-api.bench';
import { runStudentBench } from './student.bench';
import { runSubscriptionsBench } from './subscriptions.bench';
import { runTeacherBench } from './teacher.bench';

const BENCHES: Record<string, { title: string; run: () => Promise<void> }> = {
  mimic: { title: 'mimic-to-fhir: rows/s and peak RSS at two input sizes', run: runMimicToFhirBench },
  student: { title: 'student: training step/epoch at MIMIC-IV scale, onnxruntime-node latency', run: () => runStudentBench() },
  cds: { title: 'CDS Hooks order-select: autocannon vs raw inference', run: runCdsHooksBench },
  ehr: { title: 'leader ehr: the five prefetch searches over HTTP, order-select fetching them vs handed in', run: runEhrBench },
  smart: { title: 'app API: POST /api/v1/recommendations through leader ehr vs the order-select hook, median demo patient', run: runSmartApiBench },
  subscriptions: { title: 'FHIR Subscriptions: notification acknowledgement p50/p99 vs GET /health/live, events/s with write-back vs order-select calls/s', run: runSubscriptionsBench },
  teacher: { title: 'teacher: tiny GGUF features/s vs student inference, parameter counts', run: () => runTeacherBench() },
  hostile: { title: 'hostile input: long records and bombs vs a valid call, then a soak with RSS (HOSTILE_SOAK_MINUTES, default 1)', run: runHostileBench },
  cv: { title: 'cross-validation: 5-fold leader cv on the MIMIC-IV demo vs one train + evaluate', run: runCvBench },
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((n) => !(n in BENCHES));
  if (unknown.length) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}\n`);
    process.exit(2);
  }
  for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
    process.stdout.write(`\n=== ${name}: ${BENCHES[name].title} ===\n`);
    await BENCHES[name].run();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
