import { DEFAULT_DATASET_OPTIONS, DatasetAssembler, ddiOver, selectTargets, type DatasetBuildOptions, type DatasetTerminology } from './dataset.builder';
import { Vocabulary } from '../leader/tensors/vocabulary';
import { ATC3_NAMES, NAMES, dx, longPatient, med, px, singleVisitPatient, threeVisitPatient, timeline, visit } from '../../test/golden/hand-timelines';

const terminology: DatasetTerminology = {
  ...NAMES,
  ddiPairs: () => [['A10B', 'C09A'], ['C09A', 'A10B'], ['N02B', 'B01A'], ['A10B', 'ZZZZ'], ['C03C', 'C03C']],
};

function patients(n: number) {
  // n copies of the three-visit patient under different ids, plus awkward ones.
  return [
    ...Array.from({ length: n }, (_, i) => ({ ...threeVisitPatient(), patientRef: `Patient/${200 + i}` })),
    singleVisitPatient(),
    timeline('no-meds', [visit('a', { diagnoses: [dx('icd10cm:I10')], medications: [med('x')] })]),
    timeline('empty', [visit('b')]),
    timeline('meds-only', [visit('c', { medications: [med('y', 'A10B')] })]),
  ];
}

describe(DatasetAssembler.name, () => {
  const build = (options: Partial<DatasetBuildOptions> = {}, list = patients(10)) => {
    const sut = new DatasetAssembler({ ...DEFAULT_DATASET_OPTIONS, ...options });
    for (const t of list) sut.add(t);
    return sut.build(terminology);
  };

  it('makes one sample per patient targeting the last eligible visit, and counts skips by reason', () => {
    const built = build();
    expect(built.samples.map((s) => s.id)).toEqual(['7', ...Array.from({ length: 10 }, (_, i) => String(200 + i))]);
    expect(built.counts.skipped).toEqual({ 'no-medication-visit-with-diagnosis-or-procedure': 1, 'no-visit-with-codes': 1, 'no-visit-with-medication': 1 });
    const sample = built.samples.find((s) => s.id === '200')!;
    expect(sample.visitCount).toBe(3);
    expect(sample.labelCodes).toEqual(sample.labels.map((i) => built.vocab.labels[i]));
    expect(sample.prompt.startsWith('The patient has 2 times ICU visits.')).toBe(true);
    expect(sample.student.med[0]).toEqual([]);
    expect(built.counts.samples).toBe(11);
    expect(built.counts.train + built.counts.val + built.counts.test).toBe(11);
    expect([built.counts.train, built.counts.val, built.counts.test]).toEqual([8, 1, 2]);
  });

  it('puts every sample of a patient in the patient split and learns the vocabulary from train only', () => {
    const built = build({ perVisit: true });
    const splitOf = new Map<string, string>();
    for (const s of built.samples) {
      expect(splitOf.get(s.patientId) ?? s.split).toBe(s.split);
      splitOf.set(s.patientId, s.split);
    }
    expect(built.samples.filter((s) => s.patientId === '200').map((s) => s.id)).toEqual(['200#0', '200#1', '200#2']);
    const trainPatients = new Set(built.samples.filter((s) => s.split === 'train').map((s) => s.patientId));
    // Patient 7's only diagnosis (E11.65) is in the vocabulary iff 7 is a train patient.
    expect(built.vocab.tokenId('icd10cm:E11.65') !== undefined).toBe(trainPatients.has('7'));
  });

  it('drops visits without codes, honours --min-visits, and drops targets with no label left', () => {
    const t = timeline('9', [
      visit('e0'),
      visit('e1', { diagnoses: [dx('icd10cm:I10')], medications: [med('q', 'C09A')] }),
      visit('e2', { procedures: [px('icd9pcs:3893')], medications: [med('r', 'A10B')] }),
      visit('e3', { medications: [med('s', 'N02B')] }),
    ]);
    const sut = new DatasetAssembler({ ...DEFAULT_DATASET_OPTIONS, perVisit: true, minVisits: 2 });
    expect(sut.add(t)).toBe(1);
    expect(sut.add(singleVisitPatient())).toBe(0);
    for (const p of patients(10).slice(0, 10)) sut.add(p);
    const built = sut.build(terminology);
    expect(built.samples.filter((s) => s.patientId === '9').map((s) => s.id)).toEqual(['9#1']);
    expect(built.samples.filter((s) => s.patientId === '200').map((s) => s.id)).toEqual(['200#1', '200#2']);
    expect(built.counts.skipped).toEqual({ 'fewer-visits-than-min-visits': 1 });
    expect(built.counts.dropped).toMatchObject({ 'visit-without-codes': 1, 'visit-after-last-target': 1 });
  });

  it('restricts the label space with topMeds and drops target codes outside it', () => {
    const built = build({ topMeds: 1, split: 'sequential' }, [...patients(10), longPatient('300', 12)]);
    expect(built.vocab.labels).toEqual(['A10B']);
    expect(built.samples.every((s) => s.labelCodes.every((c) => c === 'A10B'))).toBe(true);
    expect(built.counts.skipped['no-target-label-in-label-space']).toBeGreaterThan(0);
    expect(built.counts.dropped!['target-label-outside-label-space']).toBeGreaterThan(0);
  });

  it('is deterministic: the same input in another order gives the same dataset', () => {
    const a = build();
    const b = build({}, patients(10).reverse());
    expect(JSON.stringify(b.samples)).toBe(JSON.stringify(a.samples));
    expect(b.vocab.hash()).toBe(a.vocab.hash());
  });

  it('builds the faithful prompt when asked', () => {
    const built = build({ promptMode: 'faithful' });
    expect(built.samples.find((s) => s.id === '200')!.prompt).toContain(' In this visit, he has diagnosis:');
  });

  it('refuses a patient read twice', () => {
    const sut = new DatasetAssembler(DEFAULT_DATASET_OPTIONS);
    sut.add(singleVisitPatient());
    expect(() => sut.add(singleVisitPatient())).toThrow(/patient 7 read twice/);
  });

  it.each([
    [{ maxVisits: 0 }, /maxVisits/],
    [{ minVisits: 1.5 }, /minVisits/],
    [{ topMeds: 0 }, /topMeds/],
    [{ promptMode: 'loose' as 'fixed' }, /prompt mode/],
  ])('rejects the options %p', (options, message) => {
    expect(() => new DatasetAssembler({ ...DEFAULT_DATASET_OPTIONS, ...options })).toThrow(message);
  });
});

describe(selectTargets.name, () => {
  it('chooses the last visit with a medication class and a diagnosis or procedure', () => {
    const visits = [visit('a', { diagnoses: [dx('icd10cm:I10')], medications: [med('1', 'A10B')] }), visit('b', { medications: [med('2', 'A10B')] })];
    expect(selectTargets(visits, { perVisit: false, minVisits: 1 })).toEqual([0]);
    expect(selectTargets(visits, { perVisit: true, minVisits: 1 })).toEqual([0]);
    expect(selectTargets([], { perVisit: false, minVisits: 1 })).toBe('no-visit-with-codes');
  });
});

describe(ddiOver.name, () => {
  it('keeps pairs inside the label space once, as sorted index pairs', () => {
    const vocab = Vocabulary.build([{ timeline: threeVisitPatient(), targetVisitIndex: 2 }], { maxVisits: 10, atc3Name: (a) => ATC3_NAMES[a] });
    const ddi = ddiOver(vocab, terminology.ddiPairs(), 'test');
    const idx = (a: string) => vocab.labelIndex(a)!;
    expect(ddi.pairs).toEqual([[idx('A10B'), idx('C09A')], [idx('B01A'), idx('N02B')]].sort((x, y) => x[0] - y[0]));
    expect(ddi.labels).toEqual(vocab.labels);
  });
});
