/**
 * parity.json (written by the trainer's exporter, trainer/README.md): padded inputs and PyTorch
 * outputs of a few batches, as plain number lists, turned back into the tensors ORT is fed.
 */
import type { StudentBatch } from '../../src/leader/tensors/student-input.types';

export interface ParityTensor { dims: number[]; data: number[] }
export interface ParityCase { name: string; sampleIds?: string[]; inputs: Record<string, ParityTensor>; outputs: Record<string, ParityTensor> }

export function parityBatch(inputs: Record<string, ParityTensor>): StudentBatch {
  const ints = (t: ParityTensor) => BigInt64Array.from(t.data.map((x) => BigInt(x)));
  return {
    batchSize: inputs.diag.dims[0],
    visits: inputs.diag.dims[1],
    diag: { data: ints(inputs.diag), dims: inputs.diag.dims as [number, number, number] },
    proc: { data: ints(inputs.proc), dims: inputs.proc.dims as [number, number, number] },
    med: { data: ints(inputs.med), dims: inputs.med.dims as [number, number, number] },
    visitMask: { data: Float32Array.from(inputs.visit_mask.data), dims: inputs.visit_mask.dims as [number, number] },
    profile: { data: ints(inputs.profile), dims: inputs.profile.dims as [number, number] },
  };
}
