import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TrainingProducts } from '../../src/recommend/product';
import { Terminology } from '../../src/terminology/terminology';

/**
 * The shipped model's one-click products (models/default/products.json), read as a clinician would:
 * the product offered for a mineral-supplement class (A12) is never an infusion fluid. Before the
 * i.v. fluid rules the NDC map made "Lactated Ringers" the calcium product (A12A) and "D5 1/2NS" the
 * other-minerals product (A12C).
 */
const products = (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'models', 'default', 'products.json'), 'utf8')) as TrainingProducts).classes;
const mineralClasses = Object.entries(products).filter(([atc3]) => atc3.startsWith('A12'));
const IV = { codings: [{ system: 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-route', code: 'IV' }] };

describe('models/default one-click products', () => {
  const terminology = Terminology.loadSync();

  it('offers a product for each of the calcium, potassium and other-mineral classes', () => {
    expect(mineralClasses.map(([atc3]) => atc3).sort()).toEqual(['A12A', 'A12B', 'A12C']);
  });

  it.each(mineralClasses)('%s: its product is no i.v. fluid (B05B) even when given intravenously', (_atc3, { coding }) => {
    const classes = terminology.classifyMedication({ parts: [{ codings: [coding], text: coding.display }], route: IV });
    expect(classes.rule).not.toBe('not-assessed');
    expect(classes.atc3).not.toContain('B05B');
  });
});
