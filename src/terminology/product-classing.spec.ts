import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SYSTEM } from './code-systems';
import { Terminology } from './terminology';

/**
 * The common-products table (test/fixtures/terminology/common-products.tsv): >= 100 products an EHR
 * orders (oral, IV, topical, ophthalmic, otic, nasal, inhaled, buccal, vaginal, rectal, transdermal,
 * extended release, multi-ingredient, i.v. fluids in ward jargon), each with the class a pharmacist expects
 * from the WHO ATC index, including every row of issue 8's table.
 */
const TABLE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'terminology', 'common-products.tsv');
const rows = readFileSync(TABLE, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).slice(1)
  .map((l) => l.split('\t') as [string, string, string]);

describe('classing of common products by name, route, form and strength', () => {
  const sut = Terminology.loadSync();

  it('has at least 100 products, every route family and the issue-8 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(100);
    const names = rows.map((r) => r[0]).join('\n');
    for (const form of ['Oral Tablet', 'Injectable Solution', 'Topical Cream', 'Ophthalmic Solution', 'Inhaler', 'Buccal', 'Extended Release', ' / ', 'Transdermal', 'Vaginal', 'Rectal', 'Nasal Spray', 'Otic']) {
      expect(names).toContain(form);
    }
    expect(rows.filter((r) => r[2].startsWith('issue 8')).length).toBe(11);
    expect(rows.filter((r) => r[2].startsWith('i.v. fluid')).length).toBeGreaterThanOrEqual(19);
  });

  it.each(rows)('%s → %s (%s)', (name, expected) => {
    const classes = sut.classifyMedication({ parts: [{ codings: [], text: name }] });
    expect(classes.atc3).toEqual(expected.split(';'));
    expect(classes.rule).not.toBe('not-assessed');
    expect(classes.classes.every((c) => c.why.length > 0)).toBe(true);
  });

  it.each([
    ['IV', 'parenteral', 'B05X', 'code-map-corrected'],
    ['PO', 'oral', 'A12C', 'code-map'],
  ])('a MIMIC sodium chloride 0.9%% bag whose NDC maps to A12C, given %s, is classed %s: %s', (route, routeName, expected, rule) => {
    const ndc = { system: 'http://hl7.org/fhir/sid/ndc', code: '00338004904', display: 'Sodium Chloride 0.9%' };
    const mimicRoute = { system: 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-route', code: route };
    const classes = sut.classifyMedication({ parts: [{ codings: [ndc], text: 'Sodium Chloride 0.9%' }], route: { codings: [mimicRoute] } });
    expect(classes).toMatchObject({ atc3: [expected], rule, route: routeName });
  });

  /**
   * MIMIC-III/IV demo i.v. fluids as the converter writes them (drug name, NDC where the row has one, MIMIC route), with the
   * WHO code a pharmacist expects: infusion fluids in B05B whatever class the NDC map lists (issue: Lactated Ringers was
   * A12A calcium, D5 1/2NS A12C), i.v. potassium chloride an additive (B05XA01), and calcium gluconate (WHO's only
   * systemic class) and the oral potassium, zinc and sodium supplements kept in A12; and the NDC map's other misfits that
   * reached the shipped model's one-click products (ibuprofen as C01E cardiac, MoviPrep as A11G vitamin C).
   */
  it.each([
    ['Lactated Ringers', '00338011704', 'IV', 'B05BB01'],
    ['LR', '00338011704', 'IV', 'B05BB01'],
    ['PlasmaLyte', '00338022104', 'IV', 'B05BB01'],
    ['D5 1/2NS', '00338008504', 'IV', 'B05BB02'],
    ['D5NS', '00338008904', 'IV', 'B05BB02'],
    ['D5LR', '00338012504', 'IV', 'B05BB02'],
    ['D5 1/4NS', '00338007704', 'IV', 'B05BB02'],
    ['Potassium Chl 20 mEq / 1000 mL D5 1/2 NS', '00338067104', 'IV', 'B05BB02'],
    ['Potassium Chl 20 mEq / 1000 mL NS', '00338069104', 'IV', 'B05BB01'],
    ['D5W', '00338001702', 'IV DRIP', 'B05BA03'],
    ['D5W', '', 'IV', 'B05BA03'],
    ['D10W', '00409793009', 'IV', 'B05BA03'],
    ['Iso-Osmotic Dextrose', '', 'IV', 'B05BA03'],
    ['Amino Acids 4.25% W/ Dextrose 5%', '00338114403', 'IV', 'B05BA10'],
    ['Amino Acids 5%-Dextrose 15%', '00338114703', 'IV', 'B05BA01'],
    ['1/2 NS', '00338004304', 'IV', 'B05XA03'],
    ['Iso-Osmotic Sodium Chloride', '', 'IV', 'B05XA03'],
    ['Potassium Chloride', '00338070341', 'IV', 'B05XA01'],
    ['Calcium Gluconate', '61553005148', 'IV', 'A12AA03'],
    ['Potassium Chloride', '00245004101', 'PO', 'A12B'],
    ['Zinc Sulfate', '00731040106', 'PO/NG', 'A12CB01'],
    ['Sodium Chloride', '00223176001', 'PO', 'A12C'],
    ['Ibuprofen', '00904585461', 'PO', 'M01AE01'],
    ['Indomethacin', '51079019020', 'PO', 'M01AB01'],
    ['MoviPrep', '65649020175', 'PO', 'A06AD15'],
    ['Golytely', '52268010001', 'PO', 'A06AD15'],
  ])('MIMIC %s (NDC %s, route %s) is classed %s, a code of the WHO index', (drug, ndc, route, atc) => {
    const codings = ndc ? [{ system: SYSTEM.ndc, code: ndc, display: drug }] : [];
    const mimicRoute = { system: 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-route', code: route };
    const classes = sut.classifyMedication({ parts: [{ codings, text: drug }], route: { codings: [mimicRoute] } });
    expect(sut.atcName(atc)).toBeDefined();
    expect(classes.atc3).toEqual([atc.slice(0, 4)]);
    expect(classes.classes.map((c) => c.atc)).toEqual([atc]);
  });

  it('keeps an unclassifiable medication visible: its name and codes, no classes, rule not-assessed', () => {
    const code = { system: SYSTEM.rxnorm, code: '99999999', display: 'Unobtainium 5 MG Oral Tablet' };
    expect(sut.classifyMedication({ parts: [{ codings: [code], text: 'Unobtainium 5 MG Oral Tablet' }] })).toEqual({
      display: 'Unobtainium 5 MG Oral Tablet', codes: [code], atc3: [], rule: 'not-assessed', source: 'none', route: 'oral', classes: [],
    });
  });

  it.each(rows.filter((r) => r[2].startsWith('issue 8')))('as an RxNorm coding an EHR sends: %s → %s', (name, expected) => {
    // An RXCUI the maps do not list, with its normalised name as the display (what the Sandbox sends).
    expect(sut.medicationAtc3([{ system: SYSTEM.rxnorm, code: '99999999', display: name }])).toEqual(expected.split(';'));
  });
});
