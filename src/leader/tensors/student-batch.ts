import { PAD_ID, type StudentBatch, type StudentSample } from './student-input.types';

/**
 * Pad B student samples into the tensors onnxruntime-node is fed (student-input.types.ts), row-major:
 *   V  = max visits over the batch (at least 1); real visits first, padded visits after them;
 *   Kd/Kp/Km = max diagnosis / procedure / medication set size over every visit of the batch (at least 1);
 *   diag/proc/med[b][v][k] = the sample's id, or PAD_ID (0) past the end of the set or of the sample's visits;
 *   visitMask[b][v] = 1 for the sample's real visits, else 0;
 *   profile[b][f] = the sample's profile id f.
 * The PyTorch trainer pads identically (test/golden/student-batch.golden.json pins the bytes).
 */
export function buildStudentBatch(samples: readonly StudentSample[]): StudentBatch {
  if (samples.length === 0) throw new RangeError('buildStudentBatch: empty batch');
  const profileWidth = samples[0].profile.length;
  let visits = 1;
  let kd = 1;
  let kp = 1;
  let km = 1;
  samples.forEach((s, b) => {
    const n = s.diag.length;
    if (n === 0) throw new RangeError(`buildStudentBatch: sample ${b} has no visit`);
    if (s.proc.length !== n || s.med.length !== n) throw new RangeError(`buildStudentBatch: sample ${b} has ${n} diagnosis, ${s.proc.length} procedure and ${s.med.length} medication visits`);
    if (s.profile.length !== profileWidth) throw new RangeError(`buildStudentBatch: sample ${b} has ${s.profile.length} profile fields, sample 0 has ${profileWidth}`);
    visits = Math.max(visits, n);
    for (let v = 0; v < n; v++) {
      kd = Math.max(kd, s.diag[v].length);
      kp = Math.max(kp, s.proc[v].length);
      km = Math.max(km, s.med[v].length);
    }
  });
  const B = samples.length;
  const pad = (select: (s: StudentSample) => number[][], k: number) => {
    const data = new BigInt64Array(B * visits * k).fill(BigInt(PAD_ID));
    samples.forEach((s, b) => {
      select(s).forEach((set, v) => {
        const offset = (b * visits + v) * k;
        set.forEach((id, i) => {
          if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`buildStudentBatch: sample ${b} visit ${v} has the invalid id ${id}`);
          data[offset + i] = BigInt(id);
        });
      });
    });
    return { data, dims: [B, visits, k] as [number, number, number] };
  };
  const visitMask = new Float32Array(B * visits);
  const profile = new BigInt64Array(B * profileWidth);
  samples.forEach((s, b) => {
    visitMask.fill(1, b * visits, b * visits + s.diag.length);
    s.profile.forEach((id, f) => {
      profile[b * profileWidth + f] = BigInt(id);
    });
  });
  return {
    batchSize: B,
    visits,
    diag: pad((s) => s.diag, kd),
    proc: pad((s) => s.proc, kp),
    med: pad((s) => s.med, km),
    visitMask: { data: visitMask, dims: [B, visits] },
    profile: { data: profile, dims: [B, profileWidth] },
  };
}

/** Codes in a sample (all visits, all types): what a batch pads to. */
export function studentSampleSize(sample: StudentSample): number {
  let n = 0;
  for (const sets of [sample.diag, sample.proc, sample.med]) for (const set of sets) n += set.length;
  return n;
}

/**
 * Sample indices ordered by size (stable), so batching in this order pads each batch to patients of
 * similar size: one large patient otherwise pads the whole batch (a 32-patient batch in file order
 * cost 7x a sorted one). Outputs are per sample, so the order never changes a patient's result.
 */
export function sizeOrder(samples: readonly StudentSample[]): number[] {
  const sizes = samples.map(studentSampleSize);
  return samples.map((_, i) => i).sort((a, b) => sizes[a] - sizes[b] || a - b);
}
