import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StudentModel } from '../inference/student-model';
import { FakeTerminology } from '../../test/fixtures/patients/fake-terminology';
import { writeTinyStudentModel } from '../../test/support/tiny-student-model';
import { explainSamples, formatExplanations } from './explain';

describe(explainSamples.name, () => {
  it('lists, per likely class of a sample, the input that drives it first (leader evaluate --explain)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'explain-'));
    const model = await StudentModel.load(await writeTinyStudentModel(dir, {
      labels: ['A10B', 'C07A'], codeTokens: ['icd10cm:E11.9', 'icd10cm:I10'],
      weights: { 'icd10cm:I10': { C07A: 5 }, 'icd10cm:E11.9': { A10B: 4, C07A: 0.5 } },
    }));
    try {
      // Token ids: 0 [PAD], 1-2 medication tokens, 3 E11.9, 4 I10.
      const [e] = await explainSamples(model, [{ id: 's1', student: { diag: [[3, 4]], proc: [[]], med: [[]], profile: [0, 0, 0, 0, 0, 0, 0] }, labelCodes: ['C07A'] }], new FakeTerminology());
      expect(e.classes.map((c) => [c.atc3, c.target, c.evidence[0].token])).toEqual([['C07A', true, 'icd10cm:I10'], ['A10B', false, 'icd10cm:E11.9']]);
      expect(formatExplanations([e])).toContain('Essential (primary) hypertension (I10) +');
    } finally {
      await model.release();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
