import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { buildStudentBatch } from '../../src/leader/tensors/student-batch';
import { STUDENT_INPUT_NAMES, type StudentBatch, type StudentSample } from '../../src/leader/tensors/student-input.types';
import { GOLDEN_DATASET_DIR, STUDENT_BATCH_GOLDEN_FILE, UPDATE_GOLDEN } from './golden-files';

/**
 * test/golden/student-batch.golden.json: student samples of the golden dataset and the exact padded
 * tensors buildStudentBatch makes of them (what serving feeds onnxruntime-node). The PyTorch trainer's
 * collate function must produce the same arrays (trainer tests read this file). UPDATE_GOLDEN=1 rewrites it.
 */
interface GoldenTensor {
  dims: number[];
  data: number[];
}
interface GoldenBatch {
  name: string;
  sampleIds: string[];
  inputs: StudentSample[];
  expected: { batchSize: number; visits: number } & Record<(typeof STUDENT_INPUT_NAMES)[number], GoldenTensor>;
}
interface GoldenFile {
  description: string;
  source: string;
  layout: string;
  batches: GoldenBatch[];
}

/** The batches pinned: every golden sample together, and a first-visit patient alone (all K = 1). */
const BATCHES: Array<{ name: string; ids?: string[] }> = [{ name: 'all-golden-samples' }, { name: 'first-visit-alone', ids: ['bob'] }];

function plain(batch: StudentBatch): GoldenBatch['expected'] {
  const tensor = (t: { data: BigInt64Array | Float32Array; dims: number[] }) => ({ dims: [...t.dims], data: Array.from(t.data, Number) });
  return {
    batchSize: batch.batchSize,
    visits: batch.visits,
    diag: tensor(batch.diag),
    proc: tensor(batch.proc),
    med: tensor(batch.med),
    visit_mask: tensor(batch.visitMask),
    profile: tensor(batch.profile),
  };
}

/** 2-space JSON with arrays of numbers kept on one line. */
function format(value: unknown): string {
  return `${JSON.stringify(value, null, 2).replace(/\[\s*(-?\d[\d\s,.-]*?)\s*\]/g, (_m, body: string) => `[${body.split(/\s*,\s*/).join(', ')}]`)}\n`;
}

describe(buildStudentBatch.name, () => {
  it('pads the golden samples exactly as test/golden/student-batch.golden.json says', async () => {
    const lines = (await fs.readFile(path.join(GOLDEN_DATASET_DIR, 'samples.jsonl'), 'utf8')).trim().split('\n');
    const samples = lines.map((l) => JSON.parse(l) as { id: string; student: StudentSample });
    const golden: GoldenFile = {
      description: 'Student samples of test/golden/dataset and the padded tensors buildStudentBatch (src/leader/tensors/student-batch.ts) makes of them. The trainer must pad identically.',
      source: 'test/golden/dataset/samples.jsonl',
      layout: 'row-major; diag/proc/med int64 [B, V, K] with V = max visits, K = max set size (at least 1), real visits first, pad id 0; visit_mask float32 [B, V]; profile int64 [B, F]',
      batches: BATCHES.map(({ name, ids }) => {
        const chosen = ids ? samples.filter((s) => ids.includes(s.id)) : samples;
        return { name, sampleIds: chosen.map((s) => s.id), inputs: chosen.map((s) => s.student), expected: plain(buildStudentBatch(chosen.map((s) => s.student))) };
      }),
    };
    const text = format(golden);
    expect(JSON.parse(text)).toEqual(golden);
    if (UPDATE_GOLDEN) {
      await fs.writeFile(STUDENT_BATCH_GOLDEN_FILE, text);
      return;
    }
    expect(await fs.readFile(STUDENT_BATCH_GOLDEN_FILE, 'utf8')).toBe(text);
    // The expectations are not just a copy of the code's output: spot-check them by hand.
    const all = golden.batches[0].expected;
    expect(all.diag.dims).toEqual([5, 10, all.diag.dims[2]]);
    expect(all.visit_mask.data.filter((m) => m === 1)).toHaveLength(samples.reduce((n, s) => n + s.student.diag.length, 0));
    const alone = golden.batches[1].expected;
    expect(alone.med).toEqual({ dims: [1, 1, 1], data: [0] });
  });
});
