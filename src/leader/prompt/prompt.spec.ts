import { buildPrompt } from './prompt';
import { NAMES, dx, longPatient, med, singleVisitPatient, threeVisitPatient, timeline, visit } from '../../../test/golden/hand-timelines';

describe(buildPrompt.name, () => {
  const sut = buildPrompt;

  it.each([
    [
      'faithful',
      'The patient has 2 times ICU visits. \n ' +
        'In 1 visit, the patient had diagnosis: Chronic kidney disease, stage 3; procedures: Venous cath NEC. The patient was prescribed drugs: blood glucose lowering drugs, excl. insulins, other analgesics and antipyretics. \n' +
        'In 2 visit, the patient had diagnosis: Chronic kidney disease, stage 3; procedures: . The patient was prescribed drugs: ace inhibitors, plain. \n' +
        ' In this visit, he has diagnosis: Chronic kidney disease, stage 3; procedures: Inspection of Upper Intestinal Tract, Endoscopic. Then, the patient should be prescribed: ',
    ],
    [
      'fixed',
      'The patient has 2 times ICU visits. \n ' +
        'In 1 visit, the patient had diagnosis: DMII wo cmp nt st uncntr, Hypertension NOS; procedures: Venous cath NEC. The patient was prescribed drugs: blood glucose lowering drugs, excl. insulins, other analgesics and antipyretics. \n' +
        'In 2 visit, the patient had diagnosis: Essential (primary) hypertension; procedures: . The patient was prescribed drugs: ace inhibitors, plain. \n' +
        ' In this visit, the patient has diagnosis: Chronic kidney disease, stage 3, 999; procedures: Inspection of Upper Intestinal Tract, Endoscopic. Then, the patient should be prescribed: ',
    ],
  ] as const)('renders the %s template for a three-visit patient', (mode, expected) => {
    expect(sut(threeVisitPatient(), 2, NAMES, mode)).toBe(expected);
  });

  it('uses the previous visits only (never the target visit or later ones) as history', () => {
    expect(sut(threeVisitPatient(), 1, NAMES, 'fixed')).toBe(
      'The patient has 1 times ICU visits. \n ' +
        'In 1 visit, the patient had diagnosis: DMII wo cmp nt st uncntr, Hypertension NOS; procedures: Venous cath NEC. The patient was prescribed drugs: blood glucose lowering drugs, excl. insulins, other analgesics and antipyretics. \n' +
        ' In this visit, the patient has diagnosis: Essential (primary) hypertension; procedures: . Then, the patient should be prescribed: ',
    );
  });

  it.each(['fixed', 'faithful'] as const)('renders a first visit with no history (%s), falling back to the coding display', (mode) => {
    const pronoun = mode === 'fixed' ? 'the patient' : 'he';
    expect(sut(singleVisitPatient(), 0, NAMES, mode)).toBe(
      `The patient has 0 times ICU visits. \n  In this visit, ${pronoun} has diagnosis: T2DM display; procedures: . Then, the patient should be prescribed: `,
    );
  });

  it('keeps the last 3 previous visits with their original numbers, and counts all previous visits', () => {
    const text = sut(longPatient('p', 12), 11, { codeTitle: () => undefined, atc3Name: () => undefined }, 'fixed');
    expect(text.startsWith('The patient has 11 times ICU visits. \n In 9 visit, the patient had diagnosis: D9; procedures: P9. The patient was prescribed drugs: A10B. \nIn 10 visit')).toBe(true);
    expect(text).toContain('In 11 visit, the patient had diagnosis: D11; procedures: P11. The patient was prescribed drugs: A10B. \n In this visit, the patient has diagnosis: D12; procedures: P12.');
    expect(text).not.toContain('In 8 visit');
    expect(text.endsWith('should be prescribed: ')).toBe(true);
  });

  it('drops untitled codes and unnamed classes in faithful mode and shows them as codes in fixed mode', () => {
    const t = timeline('x', [visit('a', { diagnoses: [dx('icd9cm:999')], medications: [med('z', 'C99X', 'B01A')] }), visit('b', { diagnoses: [dx('icd9cm:4019')] })]);
    expect(sut(t, 1, NAMES, 'faithful')).toContain('diagnosis: Hypertension NOS; procedures: . The patient was prescribed drugs: antithrombotic agents. \n');
    expect(sut(t, 1, NAMES, 'fixed')).toContain('diagnosis: 999; procedures: . The patient was prescribed drugs: C99X, antithrombotic agents. \n');
  });

  it('rejects a target outside the timeline and an unknown mode', () => {
    expect(() => sut(threeVisitPatient(), 3, NAMES, 'fixed')).toThrow(RangeError);
    expect(() => sut(threeVisitPatient(), -1, NAMES, 'fixed')).toThrow(RangeError);
    expect(() => sut(threeVisitPatient(), 0, NAMES, 'other' as 'fixed')).toThrow(/unknown prompt mode/);
  });
});
