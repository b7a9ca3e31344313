import { ageGroupOf, buildStudentSample, emptyDroppedCodeCounts, labelsOf, profileValuesOf } from './student-sample';
import { Vocabulary } from './vocabulary';
import { longPatient, singleVisitPatient, threeVisitPatient } from '../../../test/golden/hand-timelines';

describe(buildStudentSample.name, () => {
  // Trained on the first two visits of the three-visit patient only: C03C, B01A, C99X and N18.3 are unseen.
  const vocab = Vocabulary.build([{ timeline: threeVisitPatient(), targetVisitIndex: 1 }, { timeline: singleVisitPatient(), targetVisitIndex: 0 }], { maxVisits: 10 });
  const id = (token: string) => vocab.tokenId(token)!;
  const medId = (atc3: string) => vocab.medicationTokenId(vocab.labelIndex(atc3)!);
  const sut = buildStudentSample;

  it('builds per-visit ids, the shifted medication history and profile ids, dropping and counting unknown codes', () => {
    const dropped = emptyDroppedCodeCounts();
    const sample = sut(threeVisitPatient(), 2, vocab, 10, dropped);
    expect(sample.diag).toEqual([[id('icd9cm:25000'), id('icd9cm:4019')], [id('icd10cm:I10')], []]);
    expect(sample.proc).toEqual([[id('icd9pcs:3893')], [], []]);
    expect(sample.med).toEqual([[], [medId('A10B'), medId('N02B')], [medId('C09A')]]);
    expect(sample.profile).toEqual([
      vocab.profileId('gender', 'female'),
      vocab.profileId('ageGroup', '60-69'),
      vocab.profileId('admissionType', 'ew emer.'),
      vocab.profileId('insurance', 'medicare'),
      vocab.profileId('language', 'english'),
      vocab.profileId('maritalStatus', 'married'),
      vocab.profileId('race', 'white'),
    ]);
    // The vocabulary saw only the URGENT admission of visit 2, so EW EMER. is unknown (0).
    expect(sample.profile.map((p) => p > 0)).toEqual([true, true, false, true, true, true, true]);
    // N18.3 twice, 999 once, 0DJ08ZZ once; the target visit's own medications are the label, never history.
    expect(dropped).toEqual({ diagnosis: 3, procedure: 1, medication: 0 });
  });

  it('gives a first-visit patient one visit and an empty medication slot', () => {
    const sample = sut(singleVisitPatient(), 0, vocab);
    expect(sample.med).toEqual([[]]);
    expect(sample.diag).toEqual([[id('icd10cm:E11.65')]]);
  });

  it('keeps the LAST maxVisits visits ending at the target', () => {
    const long = longPatient('p', 12);
    const longVocab = Vocabulary.build([{ timeline: long, targetVisitIndex: 11 }], { maxVisits: 12 });
    const sample = sut(long, 11, longVocab, 10);
    expect(sample.diag).toHaveLength(10);
    expect(sample.diag.map((d) => longVocab.tokens[d[0]])).toEqual(['icd10cm:D3', 'icd10cm:D4', 'icd10cm:D5', 'icd10cm:D6', 'icd10cm:D7', 'icd10cm:D8', 'icd10cm:D9', 'icd10cm:D10', 'icd10cm:D11', 'icd10cm:D12']);
    // med[1] = medications of visit 3 (odd → A10B), med[9] = visit 11's.
    expect(sample.med[0]).toEqual([]);
    expect(longVocab.tokens[sample.med[1][0]]).toBe('atc3:A10B');
    expect(longVocab.tokens[sample.med[9][0]]).toBe('atc3:A10B');
    expect(longVocab.tokens[sample.med[8][0]]).toBe('atc3:C09A');
  });

  it('counts history medication classes outside the label space', () => {
    const small = Vocabulary.build([{ timeline: threeVisitPatient(), targetVisitIndex: 2 }], { maxVisits: 10, topMeds: 1 });
    const dropped = emptyDroppedCodeCounts();
    const sample = sut(threeVisitPatient(), 2, small, 10, dropped);
    expect(sample.med).toEqual([[], [1], []]);
    expect(dropped.medication).toBe(2);
  });

  it('rejects a target outside the timeline', () => {
    expect(() => sut(singleVisitPatient(), 1, vocab)).toThrow(RangeError);
  });

  describe(labelsOf.name, () => {
    it('returns the sorted label indices in the label space', () => {
      const full = Vocabulary.build([{ timeline: threeVisitPatient(), targetVisitIndex: 2 }], { maxVisits: 10 });
      expect(labelsOf(threeVisitPatient().visits[2], full).map((i) => full.labels[i])).toEqual(['B01A', 'C03C', 'C99X']);
      expect(labelsOf(threeVisitPatient().visits[2], vocab)).toEqual([]);
    });
  });

  describe(ageGroupOf.name, () => {
    it.each([
      [undefined, undefined], [-1, undefined], [0, '<18'], [17, '<18'], [18, '18-29'], [29, '18-29'], [30, '30-39'],
      [59, '50-59'], [89, '80-89'], [90, '90+'], [104, '90+'],
    ])('buckets %p as %p', (age, group) => expect(ageGroupOf(age)).toBe(group));
  });

  describe(profileValuesOf.name, () => {
    it("prefers the target admission's insurance, language and marital status over the patient's", () => {
      const t = threeVisitPatient();
      t.visits[2] = { ...t.visits[2], insurance: 'Medicaid', language: '?', maritalStatus: ' ' };
      expect(profileValuesOf(t, 2)).toMatchObject({ insurance: 'medicaid', language: '?', maritalStatus: 'married' });
    });

    it('falls back to ethnicity for race and normalises case and spaces', () => {
      expect(profileValuesOf(singleVisitPatient(), 0)).toEqual({
        gender: 'male', ageGroup: '<18', admissionType: 'elective', insurance: undefined, language: 'spanish', maritalStatus: undefined, race: 'hispanic or latino',
      });
    });
  });
});
