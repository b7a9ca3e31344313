/**
 * `leader evaluate --explain`: occlusion evidence for dataset samples, through the same ONNX model
 * and the same evidence code as the service's cards (recommend/evidence.ts).
 */
import type { StudentModel } from '../inference/student-model';
import { buildStudentBatch } from '../leader/tensors/student-batch';
import type { StudentSample } from '../leader/tensors/student-input.types';
import { Vocabulary } from '../leader/tensors/vocabulary';
import { describeOccludedInput, evidenceFor, occlusionVariants } from '../recommend/evidence';
import type { EvidenceItem } from '../recommend/recommendation.types';
import { whoCase } from '../recommend/who-names';
import type { TerminologyLookup } from '../terminology/terminology.types';

export interface SampleExplanation {
  id: string;
  /** Classes above the threshold, most likely first, each with its top inputs. */
  classes: { atc3: string; name?: string; probability: number; target: boolean; evidence: EvidenceItem[] }[];
}

/** One batch per sample: the sample and its occlusion variants. */
export async function explainSamples(
  model: StudentModel, samples: { id: string; student: StudentSample; labelCodes: string[] }[],
  names: Pick<TerminologyLookup, 'codeTitle' | 'atc3Name'>, top = 3,
): Promise<SampleExplanation[]> {
  const vocab = Vocabulary.fromJSON(model.vocab);
  const labels = model.manifest.labels;
  const cut = Math.fround(model.manifest.threshold);
  const out: SampleExplanation[] = [];
  for (const s of samples) {
    const { inputs, variants } = occlusionVariants(s.student);
    const prediction = await model.predict(buildStudentBatch([s.student, ...variants]));
    const describe = (input: (typeof inputs)[number]) => describeOccludedInput(input, s.student, vocab, names);
    const classes: SampleExplanation['classes'] = [];
    for (let l = 0; l < labels.length; l++) {
      const probability = prediction.probs[l];
      if (!(probability > cut)) continue;
      const name = whoCase(model.manifest.labelNames?.[labels[l]] ?? names.atc3Name(labels[l]));
      classes.push({ atc3: labels[l], ...(name ? { name } : {}), probability, target: s.labelCodes.includes(labels[l]), evidence: evidenceFor(prediction.probs, labels.length, l, inputs, describe, top) });
    }
    classes.sort((a, b) => b.probability - a.probability || a.atc3.localeCompare(b.atc3));
    out.push({ id: s.id, classes });
  }
  return out;
}

/** Text lines: per sample, per likely class, its top inputs with signed effect in percentage points. */
export function formatExplanations(explanations: SampleExplanation[]): string {
  const lines: string[] = ['', 'Evidence (occlusion: probability with the input minus without it; association in the model, not causation)'];
  for (const e of explanations) {
    lines.push(`sample ${e.id}: ${e.classes.length} classes above the threshold`);
    for (const c of e.classes) {
      const why = c.evidence.map((x) => `${x.name} ${x.effect >= 0 ? '+' : '−'}${Math.abs(x.effect * 100).toFixed(1)} pts`).join('; ');
      lines.push(`  ${c.atc3} ${(c.probability * 100).toFixed(0)}%${c.target ? ' (ordered)' : ''} ${c.name ?? ''}${why ? `\n      ${why}` : ''}`);
    }
  }
  return lines.join('\n');
}
