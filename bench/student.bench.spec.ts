import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { buildStudentBatch } from '../src/leader/tensors/student-batch';
import { StudentModel } from '../src/inference/student-model';
import { paperStyleBatch, samplesFromParity } from './student.bench';

const modelDir = path.resolve(__dirname, '..', 'models', 'default');

describe(paperStyleBatch.name, () => {
  it('pads every patient to 10 visits × 100 codes, and the model gives the packed batch\'s probabilities', async () => {
    const parity = JSON.parse(await fs.readFile(path.join(modelDir, 'parity.json'), 'utf8'));
    const samples = samplesFromParity(parity.cases);
    expect(samples.length).toBeGreaterThan(4);
    const paper = paperStyleBatch(samples);
    expect([paper.diag.dims, paper.proc.dims, paper.med.dims, paper.visitMask.dims]).toEqual([[samples.length, 10, 100], [samples.length, 10, 100], [samples.length, 10, 100], [samples.length, 10]]);
    const model = await StudentModel.load(modelDir);
    try {
      const packed = await model.predict(buildStudentBatch(samples));
      const padded = await model.predict(paper);
      const maxDiff = Math.max(...Array.from(packed.probs, (p, i) => Math.abs(p - padded.probs[i])));
      expect(maxDiff).toBeLessThan(1e-5);
    } finally {
      await model.release();
    }
  });
});
