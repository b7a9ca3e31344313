/**
 * Student inputs: the contract between the TypeScript tensor builder, the dataset files the
 * PyTorch trainer reads, and the ONNX model served by onnxruntime-node.
 *
 * Per sample (ragged, as stored in samples.jsonl `student`):
 *   diag[v], proc[v]: vocabulary ids of visit v's diagnoses / procedures, v = 0..V-1, the LAST
 *                     min(n, maxVisits) visits of the patient, the target visit last.
 *   med[v]:           LEADER's shifted medication history: med[0] = [] (the slot the model fills with
 *                     the patient-profile vector), med[v] = medications of visit v-1 for v ≥ 1. The
 *                     target visit's medications are the label and never appear here.
 *   profile[f]:       id of the value of profile field f (0 = unknown), fields in vocab order.
 *
 * Batched (what onnxruntime-node is fed, and what the trainer pads to), B samples:
 *   diag  int64 [B, V, Kd]  proc int64 [B, V, Kp]  med int64 [B, V, Km]
 *   visit_mask float32 [B, V] (1 for real visits)  profile int64 [B, F]
 * V = max visits in the batch; K* = max set size in the batch (at least 1); padding id 0.
 * Outputs: probs float32 [B, M] (sigmoid), hidden float32 [B, 128] (the pre-ReLU head layer).
 */
export interface StudentSample {
  diag: number[][];
  proc: number[][];
  med: number[][];
  profile: number[];
}

export interface StudentBatch {
  batchSize: number;
  visits: number;
  diag: { data: BigInt64Array; dims: [number, number, number] };
  proc: { data: BigInt64Array; dims: [number, number, number] };
  med: { data: BigInt64Array; dims: [number, number, number] };
  visitMask: { data: Float32Array; dims: [number, number] };
  profile: { data: BigInt64Array; dims: [number, number] };
}

/** ONNX input / output names, fixed by the exporter (trainer/leader_trainer/export.py). */
export const STUDENT_INPUT_NAMES = ['diag', 'proc', 'med', 'visit_mask', 'profile'] as const;
export const STUDENT_OUTPUT_NAMES = ['probs', 'hidden'] as const;

/** Reserved vocabulary ids. */
export const PAD_ID = 0;
/** LEADER keeps the last 10 visits (the paper's code kept the first 10: leader.md §7.6). */
export const DEFAULT_MAX_VISITS = 10;
/** Profile fields, in the order the profile tensor uses. */
export const PROFILE_FIELDS = ['gender', 'ageGroup', 'admissionType', 'insurance', 'language', 'maritalStatus', 'race'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
