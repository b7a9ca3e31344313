import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SYSTEM } from './code-systems';
import { Terminology } from './terminology';

/**
 * The common-products table (test/fixtures/terminology/common-products.tsv): >= 100 products an EHR
 * orders (oral, IV, topical, ophthalmic, otic, nasal, inhaled, buccal, vaginal, rectal, transdermal,
 * extended release, multi-ingredient), each with the class a pharmacist expects from the WHO ATC
 * index, including every row of issue 8's table.
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
