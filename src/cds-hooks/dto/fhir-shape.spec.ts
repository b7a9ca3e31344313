import { resourceShapeProblems } from './fhir-shape';

describe(resourceShapeProblems.name, () => {
  it('names the path of each field of the wrong JSON type and leaves unknown fields alone', () => {
    const bundle = {
      resourceType: 'Bundle', extra: { anything: [1] },
      entry: [
        { resource: { resourceType: 'Condition', id: 'ok', code: { coding: [{ code: 'I10' }] }, note: 'free' } },
        { resource: { resourceType: 'Condition', code: { coding: [null, { code: 9 }] }, category: {} } },
        null,
        { resource: { resourceType: 'Bundle' } },
      ],
    };
    expect(resourceShapeProblems(bundle, 'prefetch.conditions')).toEqual([
      'prefetch.conditions.entry[1].resource.category must be an array',
      'prefetch.conditions.entry[1].resource.code.coding[0] must be an object',
      'prefetch.conditions.entry[1].resource.code.coding[1].code must be a string',
      'prefetch.conditions.entry[2] must be an object',
      'prefetch.conditions.entry[3].resource must not be a Bundle',
    ]);
  });

  it('accepts the Sandbox\'s single-object reasonCode and bounds arrays whose readers are superlinear', () => {
    expect(resourceShapeProblems({ resourceType: 'MedicationRequest', reasonCode: { coding: [{ code: 'x' }] } }, 'draft')).toEqual([]);
    expect(resourceShapeProblems({ resourceType: 'Medication', ingredient: Array.from({ length: 21 }, () => ({})) }, 'm')).toEqual(['m.ingredient has 21 items; at most 20 are read']);
  });
});
