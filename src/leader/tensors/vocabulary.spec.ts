import { createHash } from 'node:crypto';
import { Vocabulary, VocabularyError } from './vocabulary';
import { ATC3_NAMES, longPatient, singleVisitPatient, threeVisitPatient } from '../../../test/golden/hand-timelines';

describe(Vocabulary.name, () => {
  const build = (topMeds: number | null = null, maxVisits = 10) =>
    Vocabulary.build([{ timeline: threeVisitPatient(), targetVisitIndex: 2 }, { timeline: singleVisitPatient(), targetVisitIndex: 0 }], {
      maxVisits,
      topMeds,
      atc3Name: (a) => ATC3_NAMES[a],
    });

  it('lays out [PAD], the medication tokens in label order, then sorted diagnosis / procedure tokens', () => {
    const sut = build();
    expect(sut.labels).toEqual(['A10B', 'B01A', 'C03C', 'C09A', 'C99X', 'N02B']);
    expect(sut.tokens).toEqual([
      '[PAD]',
      'atc3:A10B', 'atc3:B01A', 'atc3:C03C', 'atc3:C09A', 'atc3:C99X', 'atc3:N02B',
      'icd10cm:E11.65', 'icd10cm:I10', 'icd10cm:N18.3', 'icd10pcs:0DJ08ZZ', 'icd9cm:25000', 'icd9cm:4019', 'icd9cm:999', 'icd9pcs:3893',
    ]);
    expect(sut.labelNames).toEqual({ A10B: 'blood glucose lowering drugs, excl. insulins', B01A: 'antithrombotic agents', C03C: 'high-ceiling diuretics', C09A: 'ace inhibitors, plain', N02B: 'other analgesics and antipyretics' });
    expect(sut.medicationTokenId(sut.labelIndex('C09A')!)).toBe(sut.tokenId('atc3:C09A'));
    expect(sut.tokenId('icd10cm:Z00')).toBeUndefined();
  });

  it('collects normalised profile values per field with <unk> first', () => {
    const sut = build();
    expect(sut.profileFields).toEqual(['gender', 'ageGroup', 'admissionType', 'insurance', 'language', 'maritalStatus', 'race']);
    expect(sut.profileValues('gender')).toEqual(['<unk>', 'female', 'male']);
    expect(sut.profileValues('ageGroup')).toEqual(['<unk>', '60-69', '<18']);
    expect(sut.profileValues('race')).toEqual(['<unk>', 'hispanic or latino', 'white']);
    expect(sut.profileId('gender', 'male')).toBe(2);
    expect(sut.profileId('gender', 'unknown-value')).toBe(0);
    expect(sut.profileId('gender', undefined)).toBe(0);
  });

  it('keeps the top-N classes by number of training visits ordering them, ties by code', () => {
    // A10B: 2 visits, others 1 each; the remaining slot goes to the alphabetically first class.
    expect(build(2).labels).toEqual(['A10B', 'B01A']);
  });

  it('learns only from the visits inside the student window', () => {
    const sut = Vocabulary.build([{ timeline: longPatient('p', 12), targetVisitIndex: 11 }], { maxVisits: 10 });
    expect(sut.tokenId('icd10cm:D2')).toBeUndefined();
    expect(sut.tokenId('icd10cm:D3')).toBeDefined();
  });

  it('round-trips through vocab.json and hashes the canonical bytes', () => {
    const sut = build();
    const bytes = sut.serialize();
    expect(bytes.endsWith('}\n')).toBe(true);
    expect(sut.hash()).toBe(createHash('sha256').update(bytes).digest('hex'));
    const reread = Vocabulary.fromJSON(JSON.parse(bytes));
    expect(reread.serialize()).toBe(bytes);
    expect(reread.hash()).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['not an object', [], /not a JSON object/],
    ['no PAD', { ...build().toJSON(), tokens: ['x'] }, /tokens\[0\] must be "\[PAD\]"/],
    ['a label without its medication token', { ...build().toJSON(), labels: ['ZZZZ'], labelNames: {} }, /tokens\[1\] must be "atc3:ZZZZ"/],
    ['a duplicate token', { ...build().toJSON(), tokens: [...build().tokens, 'icd9cm:999'] }, /duplicate "icd9cm:999"/],
    ['profile values without <unk>', { ...build().toJSON(), profileValues: { ...build().toJSON().profileValues, gender: ['male'] } }, /profileValues.gender/],
  ])('rejects a vocab.json with %s', (_what, json, message) => {
    expect(() => Vocabulary.fromJSON(json, 'x/vocab.json')).toThrow(VocabularyError);
    expect(() => Vocabulary.fromJSON(json, 'x/vocab.json')).toThrow(message);
  });
});
