import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Coding } from 'fhir/r4';
import { MIMIC_SYSTEM, SYSTEM } from './code-systems';
import { Terminology } from './terminology';

const FHIR_MAPPINGS = path.resolve(__dirname, '..', '..', 'fhir-mappings');

describe(Terminology.name, () => {
  let sut: Terminology;
  beforeAll(() => {
    sut = Terminology.loadSync(FHIR_MAPPINGS);
  });

  describe('diagnosis', () => {
    it.each<[Coding, string | undefined, string | undefined]>([
      [{ system: SYSTEM.icd10cm, code: 'E11.9' }, 'icd10cm:E11.9', 'Type 2 diabetes mellitus without complications'],
      [{ system: SYSTEM.icd10cm, code: 'E119' }, 'icd10cm:E11.9', 'Type 2 diabetes mellitus without complications'],
      [{ system: MIMIC_SYSTEM.diagnosisIcd10, code: 'I10' }, 'icd10cm:I10', 'Essential (primary) hypertension'],
      [{ system: SYSTEM.icd9cm, code: '401.9' }, 'icd9cm:401.9', 'Unspecified essential hypertension'],
      [{ system: MIMIC_SYSTEM.diagnosisIcd9, code: '4019' }, 'icd9cm:401.9', 'Unspecified essential hypertension'],
      [{ system: MIMIC_SYSTEM.diagnosisIcd9, code: 'V5861' }, 'icd9cm:V58.61', 'Long-term (current) use of anticoagulants'],
      [{ system: MIMIC_SYSTEM.diagnosisIcd9, code: 'E8490' }, 'icd9cm:E849.0', 'Home accidents'],
      [{ system: SYSTEM.snomed, code: '44054006' }, 'icd10cm:E11.9', 'Type 2 diabetes mellitus without complications'], // through the unreviewed map
      [{ system: SYSTEM.snomed, code: '160903007' }, 'sct:160903007', 'Full-time employment (finding)'], // deliberate no-map stays SNOMED
      [{ system: SYSTEM.snomed, code: '999999999', display: 'Made-up finding' }, 'sct:999999999', 'Made-up finding'],
      [{ system: SYSTEM.rxnorm, code: '313782' }, undefined, undefined], // not a diagnosis system
      [{ system: SYSTEM.icd10cm }, undefined, undefined],
    ])('%j → %p', (coding, token, display) => {
      const code = sut.diagnosis(coding);
      expect(code?.token).toBe(token);
      expect(code?.display).toBe(display);
    });

    it('prefers the coding display over the terminology title', () => {
      expect(sut.diagnosis({ system: SYSTEM.icd10cm, code: 'E119', display: 'T2DM' })).toEqual({ token: 'icd10cm:E11.9', system: SYSTEM.icd10cm, code: 'E11.9', display: 'T2DM' });
    });

    it('answers repeated lookups from its memo with frozen codes, keeping an empty display apart from none', () => {
      const first = sut.diagnosis({ system: MIMIC_SYSTEM.diagnosisIcd9, code: '4019' });
      const again = sut.diagnosis({ system: MIMIC_SYSTEM.diagnosisIcd9, code: '4019' });
      expect(again).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(sut.diagnosis({ system: MIMIC_SYSTEM.diagnosisIcd9, code: '4019', display: '' })).toEqual({ token: 'icd9cm:401.9', system: SYSTEM.icd9cm, code: '401.9' });
      expect(sut.diagnosis({ system: MIMIC_SYSTEM.diagnosisIcd9, code: '4019' })?.display).toBe('Unspecified essential hypertension');
      expect(sut.procedure({ system: MIMIC_SYSTEM.procedureIcd9, code: '3893' })).toBe(sut.procedure({ system: MIMIC_SYSTEM.procedureIcd9, code: '3893' }));
    });

    it('still rejects a non-string code (not memoised)', () => {
      const coding = { system: SYSTEM.icd10cm, code: 119 } as unknown as Coding;
      expect(() => sut.diagnosis(coding)).toThrow(TypeError);
      expect(() => sut.diagnosis(coding)).toThrow(TypeError);
    });
  });

  describe('procedure', () => {
    it.each<[Coding, string | undefined, string]>([
      [{ system: SYSTEM.icd9cm, code: '38.93' }, 'icd9pcs:38.93', SYSTEM.icd9cm],
      [{ system: MIMIC_SYSTEM.procedureIcd9, code: '3893' }, 'icd9pcs:38.93', SYSTEM.icd9cm],
      [{ system: MIMIC_SYSTEM.procedureIcd10, code: '0DJ08ZZ' }, 'icd10pcs:0DJ08ZZ', SYSTEM.icd10pcs],
      [{ system: SYSTEM.icd10pcs, code: '0DJ08ZZ' }, 'icd10pcs:0DJ08ZZ', SYSTEM.icd10pcs],
      [{ system: SYSTEM.icd10pcsAlias, code: '0dj08zz' }, 'icd10pcs:0DJ08ZZ', SYSTEM.icd10pcs],
      [{ system: SYSTEM.snomed, code: '22523008' }, 'sct:22523008', SYSTEM.snomed],
      [{ system: SYSTEM.icd10cm, code: 'E11.9' }, undefined, ''],
    ])('%j → %p', (coding, token, system) => {
      const code = sut.procedure(coding);
      expect(code?.token).toBe(token);
      if (token) expect(code?.system).toBe(system);
    });

    it('keeps an ICD-9 diagnosis and an ICD-9 procedure with the same digits apart', () => {
      expect(sut.diagnosis({ system: MIMIC_SYSTEM.diagnosisIcd9, code: '3893' })?.token).toBe('icd9cm:389.3');
      expect(sut.procedure({ system: MIMIC_SYSTEM.procedureIcd9, code: '3893' })?.token).toBe('icd9pcs:38.93');
    });
  });

  describe('medicationAtc3', () => {
    it.each<[string, Coding[], string | undefined, string[], string]>([
      ['ATC coding truncated to level 3', [{ system: SYSTEM.atc, code: 'N02BE01' }], undefined, ['N02B'], 'atc'],
      ['ATC wins over NDC', [{ system: SYSTEM.ndc, code: '00338500341' }, { system: SYSTEM.atc, code: 'B01AB01' }], undefined, ['B01A'], 'atc'],
      ['MIMIC NDC, 11 digits', [{ system: MIMIC_SYSTEM.medicationNdc, code: '00002322930' }], undefined, ['N06B'], 'ndc'],
      ['FHIR NDC 4-4-2 hyphenated', [{ system: SYSTEM.ndc, code: '0002-3229-30' }], undefined, ['N06B'], 'ndc'],
      ['NDC only in NDC→RxNorm, through RxNorm→ATC3', [{ system: SYSTEM.ndc, code: '00338500341' }], undefined, ['J01D'], 'ndc'],
      ['RxNorm (Synthea map)', [{ system: SYSTEM.rxnorm, code: '313782' }], undefined, ['N02B'], 'rxnorm'],
      ['RxNorm combination product: every class, sorted', [{ system: SYSTEM.rxnorm, code: '1049221' }], undefined, ['N02A', 'N02B'], 'rxnorm'],
      ['GSN cell with several codes', [{ system: MIMIC_SYSTEM.medicationGsn, code: '004489 004490 ' }], undefined, ['N02B'], 'gsn'],
      ['drug name fallback', [{ system: MIMIC_SYSTEM.medicationFormulary, code: 'ACET325' }], 'Acetaminophen', ['N02B'], 'name'],
      ['MIMIC name coding', [{ system: MIMIC_SYSTEM.medicationName, code: 'Heparin' }], undefined, ['B01A'], 'name'],
      ['name with strength and form words (a flush is i.v.: sodium chloride\'s primary class)', [], 'Sodium Chloride 0.9%  Flush', ['B05X'], 'name'],
      ['name with a salt word', [], 'Vancomycin HCl', ['J01X'], 'name'],
      ['coding display as the last resort', [{ system: 'urn:vendor:local', code: 'X1', display: 'Insulin' }], undefined, ['A10A'], 'name'],
      ['container is not a drug', [], 'Bag', [], 'none'],
      ['nothing', [], undefined, [], 'none'],
    ])('%s', (_label, codings, text, atc3, source) => {
      expect(sut.medicationAtc3WithSource(codings, text)).toEqual({ atc3, source });
      expect(sut.medicationAtc3(codings, text)).toEqual(atc3);
    });
  });

  it.each([
    ['N02B', 'other analgesics and antipyretics'],
    ['n02b', 'other analgesics and antipyretics'],
    ['N02BE01', undefined],
    ['Z99Z', undefined],
  ])('atc3Name(%p) → %p', (code, name) => {
    expect(sut.atc3Name(code)).toBe(name);
  });

  it.each([
    ['icd9cm:401.9', 'Unspecified essential hypertension'],
    ['icd9cm:4019', 'Unspecified essential hypertension'],
    ['icd9pcs:38.93', 'Venous catheterization, not elsewhere classified'],
    ['icd10cm:E11.9', 'Type 2 diabetes mellitus without complications'],
    ['sct:44054006', 'Diabetes'], // the display Synthea writes
    ['atc3:N02B', 'other analgesics and antipyretics'],
    ['icd10cm:ZZZ', undefined],
    ['unknown:1', undefined],
    ['no-colon', undefined],
  ])('codeTitle(%p) → %p', (token, title) => {
    expect(sut.codeTitle(token)).toBe(title);
  });

  it.each([
    ['250.00', 'icd9to10', ['E11.9']],
    ['25000', 'icd9to10', ['E11.9']],
    ['E11.9', 'icd10to9', ['250.00']],
    ['999.99', 'icd9to10', []],
  ] as const)('GEMs: %p via %s → %p', (code, fn, expected) => {
    expect(sut[fn](code)).toEqual(expected);
  });

  it('ships the 467 DDI pairs, each unordered pair once with a < b', () => {
    const pairs = sut.ddiPairs();
    expect(pairs).toHaveLength(467);
    expect(pairs.every(([a, b]) => a < b && /^[A-Z]\d\d[A-Z]$/.test(a) && /^[A-Z]\d\d[A-Z]$/.test(b))).toBe(true);
    expect(new Set(pairs.map((p) => p.join('|'))).size).toBe(467);
  });

  it('reads DDI pairs from a CSV when given one, and names a bad line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ddi-'));
    const good = path.join(dir, 'good.csv');
    writeFileSync(good, 'atc3_a,atc3_b\nN02B,B01A\n');
    expect((await Terminology.load(FHIR_MAPPINGS, good)).ddiPairs()).toEqual([['B01A', 'N02B']]);
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'atc3_a,atc3_b\nN02B,aspirin\n');
    expect(() => Terminology.loadSync(FHIR_MAPPINGS, bad)).toThrow(`${bad}:2: expected two ATC3 codes`);
  });

  it('names the missing folder when fhir-mappings is absent', async () => {
    await expect(Terminology.load('/nonexistent/fhir-mappings')).rejects.toThrow('/nonexistent/fhir-mappings/');
  });

  it('gives the same answers loaded sync and async, before and after warm()', async () => {
    const other = await Terminology.load(FHIR_MAPPINGS);
    expect(other.medicationAtc3([{ system: SYSTEM.rxnorm, code: '313782' }])).toEqual(['N02B']);
    expect(other.warm().codeTitle('icd10cm:E11.9')).toBe(sut.codeTitle('icd10cm:E11.9'));
  });
});
