import { currentMedications, type MedicationUse } from './current-medications';
import { DdiIndex } from './ddi-index';
import { evidenceFor, occlusionVariants } from './evidence';
import { MIMIC_NEVER_SUGGEST, defaultNeverSuggest, neverSuggestProblems } from './never-suggest';
import { chooseProduct, lastProductByClass } from './product';
import { recommend, type RecommendInput } from './recommend';
import { whoCase } from './who-names';

const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';

describe(recommend.name, () => {
  const base: RecommendInput = {
    labels: ['A02B', 'B01A', 'C07A', 'M01A', 'B05C'],
    probs: [0.9, 0.6, 0.1, 0.45, 0.8],
    threshold: 0.4,
    ddi: new DdiIndex([['B01A', 'M01A'], ['C07A', 'A02B']]),
    className: (c: string) => ({ A02B: 'drugs for peptic ulcer and gastro-oesophageal reflux disease (gord)', B01A: 'antithrombotic agents', M01A: 'antiinflammatory and antirheumatic products, non-steroids' } as Record<string, string>)[c],
    priorVisits: 2,
    current: [],
    drafts: [],
    patientProducts: new Map(),
    neverSuggest: ['B05'],
  };
  const warfarin = { drug: 'Warfarin 5 MG Oral Tablet', atc3: ['B01A'], source: 'MedicationRequest' as const, status: 'active' };
  const naproxen = { orderRef: 'MedicationRequest/d1', drug: 'Naproxen 500 MG Oral Tablet', atc3: ['M01A'], atTheOrder: true };

  it('ranks suggestions above the threshold, most likely first, with WHO capitalisation and the anatomical group', () => {
    const sut = recommend(base);
    expect(sut.suggestions.map((c) => c.atc3)).toEqual(['A02B', 'B01A', 'M01A']);
    expect(sut.suggestions[0]).toMatchObject({ name: 'Drugs for peptic ulcer and gastro-oesophageal reflux disease (GORD)', group: { code: 'A', name: 'Alimentary tract and metabolism' }, status: 'new', aboveThreshold: true });
    expect(sut.classes).toHaveLength(5);
  });

  it('never suggests a class on the never-suggest list, but reports it', () => {
    const sut = recommend(base);
    expect(sut.suggestions.map((c) => c.atc3)).not.toContain('B05C');
    expect(sut.neverSuggested.map((c) => c.atc3)).toEqual(['B05C']);
    expect(recommend({ ...base, neverSuggest: [] }).suggestions.map((c) => c.atc3)).toContain('B05C');
  });

  it('a likely class the patient already takes is "continued", not a new suggestion', () => {
    const sut = recommend({ ...base, current: [warfarin] });
    expect(sut.suggestions.map((c) => c.atc3)).not.toContain('B01A');
    expect(sut.continued).toEqual([expect.objectContaining({ atc3: 'B01A', status: 'continued', drugs: ['Warfarin 5 MG Oral Tablet'] })]);
  });

  it('checks drafted × current and suggestion × current, naming both drugs, the order at hand first; never pairs among suggestions', () => {
    const sut = recommend({ ...base, current: [warfarin], drafts: [naproxen], labels: [...base.labels, 'C10A'], probs: [0.9, 0.6, 0.5, 0.45, 0.8, 0.1] });
    expect(sut.interactions[0]).toMatchObject({ atTheOrder: true, a: { drug: 'Naproxen 500 MG Oral Tablet', role: 'drafted' }, b: { drug: 'Warfarin 5 MG Oral Tablet', role: 'current' } });
    // C07A and A02B interact but both are only suggestions: no pair.
    expect(sut.interactions.some((i) => i.a.role === 'suggested' && i.b.role === 'suggested')).toBe(false);
    expect(sut.drafted).toEqual([expect.objectContaining({ orderRef: 'MedicationRequest/d1', assessed: true })]);
  });

  it('names a drafted drug it cannot class or whose class is outside the labels as not assessed', () => {
    const sut = recommend({ ...base, drafts: [{ ...naproxen, atc3: [] }, { orderRef: 'MedicationRequest/d2', drug: 'Mystery', atc3: ['Z99Z'], atTheOrder: true }] });
    expect(sut.drafted.map((d) => d.assessed)).toEqual([false, false]);
  });

  it('suggests nothing for a deceased patient', () => {
    expect(recommend({ ...base, deceased: { since: '2180-01-01' } }).suggestions).toEqual([]);
  });

  it('uses the evaluation rule p > threshold in float32', () => {
    const sut = recommend({ ...base, labels: ['A02B', 'B01A'], probs: Float32Array.from([0.3, 0.31]), threshold: 0.3, neverSuggest: [] });
    expect(sut.suggestions.map((c) => c.atc3)).toEqual(['B01A']);
  });
});

describe(currentMedications.name, () => {
  const asOf = new Date('2024-06-30T00:00:00Z');
  const use = (status: string, start?: string, end?: string): MedicationUse => ({ drug: 'x', atc3: ['B01A'], source: 'MedicationRequest', status, ...(start ? { start } : {}), ...(end ? { end } : {}) });
  it('keeps active uses and those ended inside the window, drops older and future ones', () => {
    const got = currentMedications([
      use('active', '2010-01-01'),
      use('completed', '2024-01-01', '2024-05-01'), // ended 60 days before: current
      use('completed', '2023-01-01', '2024-03-01'), // ended 121 days before: not
      use('stopped', '2024-06-01'), // no end: its start counts
      use('unknown', '2024-07-15'), // after the visit
      use('active', '2020-01-01', '2020-02-01'), // active, but its validity ended long ago
    ], asOf, 90);
    expect(got.map((m) => m.status)).toEqual(['active', 'completed', 'stopped']);
    expect(currentMedications([use('completed', '2024-01-01', '2024-05-01')], asOf, 30)).toEqual([]);
  });
});

describe('product rule', () => {
  const mine = lastProductByClass([
    { atc3: ['B01A'], coding: { system: RX, code: '11289', display: 'warfarin' }, date: '2024-01-01' },
    { atc3: ['B01A'], coding: { system: RX, code: '855332', display: 'Warfarin Sodium 5 MG Oral Tablet' }, date: '2024-05-01' },
  ]);
  const training = { classes: { B01A: { coding: { system: RX, code: '1364430', display: 'apixaban 5 MG Oral Tablet' }, orders: 30, classOrders: 60 }, C07A: { coding: { system: RX, code: '866924', display: 'metoprolol' }, orders: 5, classOrders: 10 } } };
  it("takes the patient's last product in the class first, else the training data's most prescribed, else none", () => {
    expect(chooseProduct('B01A', mine, training)).toMatchObject({ rule: 'patient-last', coding: { code: '855332' } });
    expect(chooseProduct('C07A', mine, training)).toMatchObject({ rule: 'training-most-frequent', coding: { code: '866924' }, because: expect.stringContaining('50%') });
    expect(chooseProduct('C07A', mine, undefined)).toBeUndefined();
  });
});

describe('evidence by occlusion', () => {
  it('makes one variant per distinct diagnosis, procedure, past medication and the profile; ranks by |effect|', () => {
    const sample = { diag: [[5, 6], [5]], proc: [[], [9]], med: [[], [2]], profile: [1, 0] };
    const { inputs, variants } = occlusionVariants(sample);
    // The profile first, then the most recent inputs.
    expect(inputs.map((i) => `${i.kind}:${i.id}`)).toEqual(['profile:-1', 'diagnosis:5', 'procedure:9', 'medication:2', 'diagnosis:6']);
    expect(variants[0].profile).toEqual([0, 0]);
    expect(variants[1].diag).toEqual([[6], []]);
    expect(occlusionVariants(sample, 2)).toMatchObject({ inputs: [{ kind: 'profile' }, { kind: 'diagnosis', id: 5 }], total: 5 });
    // 2 labels; base row then one row per variant. Label 1: removing diagnosis 6 drops it by 0.4.
    const probs = [0.5, 0.9, 0.5, 0.9, 0.5, 0.85, 0.5, 0.95, 0.5, 0.9, 0.5, 0.5];
    const ev = evidenceFor(probs, 2, 1, inputs, (i) => ({ token: `t${i.id}`, name: `n${i.id}` }));
    expect(ev.map((e) => [e.token, Number(e.effect.toFixed(2))])).toEqual([['t6', 0.4], ['t5', 0.05], ['t9', -0.05]]);
  });
});

describe('names and lists', () => {
  it('restores WHO capitalisation', () => {
    expect(whoCase('vitamin b1, plain and in combination with vitamin b6 and b12')).toBe('Vitamin B1, plain and in combination with vitamin B6 and B12');
    expect(whoCase('angiotensin ii receptor blockers (arbs), combinations')).toBe('Angiotensin II receptor blockers (ARBs), combinations');
    expect(whoCase('ace inhibitors, plain')).toBe('ACE inhibitors, plain');
  });
  it('has a documented never-suggest default for MIMIC-trained models only, and checks a configured list', () => {
    expect(defaultNeverSuggest('MIMIC-IV Clinical Database Demo v2.2')).toBe(MIMIC_NEVER_SUGGEST);
    expect(defaultNeverSuggest('Synthea bundles')).toEqual([]);
    expect(neverSuggestProblems({ prefixes: ['B05C', 'v07'] })).toEqual(['prefixes[1] "v07" is not an ATC prefix (e.g. "B05C")']);
  });
});
