import { ivBirthDate } from './mimic-to-fhir.converter';
import { encounterClass, language, maritalStatus, ndc11, parseDose, raceExtension, toFhirDateTime } from './mimic-value.mapper';

describe('mimic-value.mapper', () => {
  it.each([
    ['2196-02-24 14:38:00', '2196-02-24T14:38:00Z'],
    ['2196-02-24T14:38', '2196-02-24T14:38:00Z'],
    ['2146-12-15', '2146-12-15'],
    ['', undefined],
    ['10/23/64 21:09', undefined],
    ['2196-02-24 xx:38:00', undefined],
    ['2196-02-24 14:38:0x', undefined],
    ['2196-02-24 14:38:07.250', '2196-02-24T14:38:07Z'],
    ['2196-02-24 14:38 ', '2196-02-24T14:38:00Z'],
    ['2196-02-24 14-38', undefined],
  ])('toFhirDateTime(%j) → %j', (value, expected) => {
    expect(toFhirDateTime(value)).toBe(expected);
  });

  it.each([
    ['EW EMER.', 'EMER'], ['DIRECT EMER.', 'EMER'], ['EMERGENCY', 'EMER'], ['URGENT', 'AMB'], ['ELECTIVE', 'AMB'],
    ['AMBULATORY OBSERVATION', 'AMB'], ['EU OBSERVATION', 'OBSENC'], ['OBSERVATION ADMIT', 'OBSENC'], ['DIRECT OBSERVATION', 'OBSENC'],
    ['SURGICAL SAME DAY ADMISSION', 'SS'], ['NEWBORN', 'IMP'],
  ])('admission_type %s → class %s', (type, code) => {
    expect(encounterClass(type)).toMatchObject({ coding: { code }, mapped: true });
  });

  it('marks an unknown admission type as unmapped (IMP)', () => {
    expect(encounterClass('SOMETHING NEW')).toMatchObject({ coding: { code: 'IMP' }, mapped: false });
  });

  it('maps marital status and language where it can, always keeping the MIMIC text', () => {
    expect(maritalStatus('MARRIED')).toEqual({ coding: [expect.objectContaining({ code: 'M' })], text: 'MARRIED' });
    expect(maritalStatus('UNKNOWN (DEFAULT)')).toEqual({ text: 'UNKNOWN (DEFAULT)' });
    expect(maritalStatus('')).toBeUndefined();
    expect(language('ENGL')?.coding?.[0].code).toBe('en');
    expect(language('ENGLISH')?.coding?.[0].code).toBe('en');
    expect(language('?')).toBeUndefined();
    expect(language('KLINGON')).toEqual({ text: 'KLINGON' });
  });

  it('gives US Core race an ombCategory only when obvious, and always the text', () => {
    expect(raceExtension('WHITE - BRAZILIAN')?.extension).toEqual([
      expect.objectContaining({ url: 'ombCategory', valueCoding: expect.objectContaining({ code: '2106-3' }) }),
      { url: 'text', valueString: 'WHITE - BRAZILIAN' },
    ]);
    expect(raceExtension('UNABLE TO OBTAIN')?.extension).toEqual([{ url: 'text', valueString: 'UNABLE TO OBTAIN' }]);
  });

  it.each<[string, string, unknown]>([
    ['0.5', 'mL', { doseQuantity: { value: 0.5, unit: 'mL' } }],
    ['25,000', 'UNIT', { doseQuantity: { value: 25000, unit: 'UNIT' } }],
    ['1-2', 'TAB', { doseRange: { low: { value: 1, unit: 'TAB' }, high: { value: 2, unit: 'TAB' } } }],
    ['see note', 'mg', undefined],
    ['', 'mg', undefined],
  ])('dose %j %j', (value, unit, expected) => {
    expect(parseDose(value, unit)).toEqual(expected);
  });

  it('keeps only 11-digit NDCs for the standard system', () => {
    expect(ndc11('00006494300')).toBe('00006494300');
    expect(ndc11('0')).toBeUndefined();
    expect(ndc11('')).toBeUndefined();
    expect(ndc11('0006-4943-00')).toBeUndefined();
  });

  it('derives a MIMIC-IV birth date that gives anchor_age in anchor_year', () => {
    expect(ivBirthDate('72', '2134')).toBe('2062-01-01');
    expect(ivBirthDate('', '2134')).toBeUndefined();
    expect(ivBirthDate('x', '2134')).toBeUndefined();
  });
});
