import { dotIcd10cm, dotIcd9Diagnosis, dotIcd9Procedure, undotCode } from '../terminology/code-normalise';

/** The ICD forms mimic-to-fhir writes: MIMIC's undotted codes, and the dotted standard ones (cds-fhir.md §4.2). */
describe('MIMIC ICD codes', () => {
  it.each([
    ['4019', '401.9'], ['25000', '250.00'], ['V5861', 'V58.61'], ['E8490', 'E849.0'], ['E849', 'E849'],
    ['042', '042'], ['V707', 'V70.7'], [' 4139 ', '413.9'], ['401.9', '401.9'], ['e8497', 'E849.7'],
  ])('ICD-9-CM diagnosis %s → %s', (code, dotted) => {
    expect(dotIcd9Diagnosis(code)).toBe(dotted);
  });

  it.each([['E119', 'E11.9'], ['I10', 'I10'], ['Z87891', 'Z87.891'], ['S72001A', 'S72.001A'], ['E11.9', 'E11.9']])(
    'ICD-10-CM diagnosis %s → %s', (code, dotted) => {
      expect(dotIcd10cm(code)).toBe(dotted);
    });

  it.each([['3893', '38.93'], ['3961', '39.61'], ['966', '96.6'], ['00', '00'], ['38.93', '38.93']])(
    'ICD-9-CM procedure %s → %s', (code, dotted) => {
      expect(dotIcd9Procedure(code)).toBe(dotted);
    });

  it('keeps ICD-10-PCS undotted and upper-case', () => {
    expect(undotCode(' 0dtj4zz ')).toBe('0DTJ4ZZ');
  });

  it('undots for the MIMIC local systems', () => {
    expect(undotCode(' 401.9 ')).toBe('4019');
    expect(undotCode('E11.9')).toBe('E119');
  });
});
