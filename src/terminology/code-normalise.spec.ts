import { atc3Of, dotIcd10cm, dotIcd9Diagnosis, dotIcd9Procedure, drugNameCandidates, normaliseDrugName, normaliseNdc, splitGsn, undotCode } from './code-normalise';

describe(normaliseNdc.name, () => {
  it.each([
    ['00338500341', '00338500341'], // MIMIC 11 digits
    ['0338-5003-41', '00338500341'], // 4-4-2
    ['50242-041-62', '50242004162'], // 5-3-2
    ['60505-0141-1', '60505014101'], // 5-4-1
    ['00409-4888-20', '00409488820'], // 5-4-2 hyphenated
    [' 00002-3229-30 ', '00002322930'],
    ['0', undefined], // MIMIC "no NDC"
    ['00000000000', undefined],
    ['0338500341', undefined], // 10 digits without hyphens: padding position unknown
    ['123-456-78', undefined],
    ['0338-5003-4A', undefined],
    ['', undefined],
  ])('%p → %p', (input, expected) => {
    expect(normaliseNdc(input)).toBe(expected);
  });
});

describe('ICD formatting', () => {
  it.each([
    [dotIcd9Diagnosis, '4019', '401.9'],
    [dotIcd9Diagnosis, '401.9', '401.9'],
    [dotIcd9Diagnosis, 'V5861', 'V58.61'],
    [dotIcd9Diagnosis, 'E8490', 'E849.0'],
    [dotIcd9Diagnosis, 'E849', 'E849'],
    [dotIcd9Diagnosis, '042', '042'],
    [dotIcd10cm, 'E119', 'E11.9'],
    [dotIcd10cm, 'e11.9', 'E11.9'],
    [dotIcd10cm, 'S72001A', 'S72.001A'],
    [dotIcd10cm, 'I10', 'I10'],
    [dotIcd9Procedure, '3893', '38.93'],
    [dotIcd9Procedure, '38.93', '38.93'],
    [dotIcd9Procedure, '00', '00'],
    [undotCode, ' e11.9 ', 'E119'],
  ])('%p(%p) → %p', (fn, input, expected) => {
    expect(fn(input)).toBe(expected);
  });
});

describe(splitGsn.name, () => {
  it.each([
    ['004489', ['004489']],
    ['027413 001723 ', ['027413', '001723']],
    ['4489', ['004489']], // leading zeros lost by a spreadsheet
    ['004489 004489', ['004489']],
    ['', []],
    ['000000', []],
    ['abc', []],
  ])('%p → %p', (input, expected) => {
    expect(splitGsn(input)).toEqual(expected);
  });
});

describe(atc3Of.name, () => {
  it.each([
    ['N02BE01', 'N02B'],
    ['n02b', 'N02B'],
    ['C09AA', 'C09A'],
    ['N02', undefined],
    ['N', undefined],
    ['9999', undefined],
  ])('%p → %p', (input, expected) => {
    expect(atc3Of(input)).toBe(expected);
  });
});

describe(normaliseDrugName.name, () => {
  it.each([
    ['Acetaminophen', 'acetaminophen'],
    ['Sodium Chloride 0.9%  Flush', 'sodium chloride 0.9% flush'],
    ['HydrALAZINE HCl', 'hydralazine hcl'],
    ['Albuterol-Ipratropium', 'albuterol ipratropium'],
    ['Lidocaine 2%/Epi 1:100,000', 'lidocaine 2% epi 1 100.000'], // a comma between digits reads as a decimal mark
    ['Insulin  (Humalog) ', 'insulin humalog'],
    ['Amino Acids 4.25%-Dextrose 5%', 'amino acids 4.25% dextrose 5%'],
  ])('%p → %p', (input, expected) => {
    expect(normaliseDrugName(input)).toBe(expected);
  });
});

describe(drugNameCandidates.name, () => {
  it.each([
    ['Vancomycin HCl', ['vancomycin hcl', 'vancomycin']],
    ['Sodium Chloride 0.9%  Flush', ['sodium chloride 0.9% flush', 'sodium chloride 0.9%', 'sodium chloride', 'sodium']],
    ['Acet 325', ['acet 325']], // shortened keys under 5 characters are never tried
    ['Heparin', ['heparin']],
    ['', []],
  ])('%p → %p', (input, expected) => {
    expect(drugNameCandidates(input)).toEqual(expected);
  });
});
