import { parseProductName, strengthInMg } from './rxnorm-name';

describe(parseProductName.name, () => {
  it.each([
    ['Naproxen 250 MG Oral Tablet', [['Naproxen', 250, 'MG']], 'Oral Tablet', undefined, undefined],
    ['24 HR Verapamil hydrochloride 240 MG Extended Release Oral Tablet', [['Verapamil hydrochloride', 240, 'MG']], 'Extended Release Oral Tablet', undefined, 24],
    ['Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet [Percocet]', [['Acetaminophen', 325, 'MG'], ['Oxycodone Hydrochloride', 5, 'MG']], 'Oral Tablet', 'Percocet', undefined],
    ['120 ACTUAT Fluticasone propionate 0.11 MG/ACTUAT Metered Dose Inhaler', [['Fluticasone propionate', 0.11, 'MG/ACTUAT']], 'Metered Dose Inhaler', undefined, undefined],
    ['NDA020503 200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler', [['Albuterol', 0.09, 'MG/ACTUAT']], 'Metered Dose Inhaler', undefined, undefined],
    ['Abuse-Deterrent 12 HR Oxycodone Hydrochloride 10 MG Extended Release Oral Tablet [Oxycontin]', [['Oxycodone Hydrochloride', 10, 'MG']], 'Extended Release Oral Tablet', 'Oxycontin', 12],
    ['0.9% Sodium Chloride', [['Sodium Chloride', 0.9, '%']], undefined, undefined, undefined],
    ['Metoprolol Tartrate', [['Metoprolol Tartrate', undefined, undefined]], undefined, undefined, undefined],
    ['Ipratropium / Albuterol', [['Ipratropium', undefined, undefined], ['Albuterol', undefined, undefined]], undefined, undefined, undefined],
    ['Enoxaparin sodium 40 MG/0.4ML Prefilled Syringe', [['Enoxaparin sodium', 40, 'MG/0.4ML']], 'Prefilled Syringe', undefined, undefined],
  ])('%s', (name, ingredients, doseForm, brand, hours) => {
    const parsed = parseProductName(name);
    expect(parsed.ingredients.map((i) => [i.name, i.strength?.value, i.strength?.unit])).toEqual(ingredients);
    expect(parsed.doseForm).toBe(doseForm);
    expect(parsed.brand).toBe(brand);
    expect(parsed.releaseHours).toBe(hours);
  });

  it('reads the ingredients of every pack component, inert tablets left out', () => {
    const parsed = parseProductName('{21 (Levonorgestrel 0.15 MG / Ethinyl Estradiol 0.03 MG Oral Tablet) / 7 (Inert Ingredients 1 MG Oral Tablet) } Pack');
    expect(parsed.ingredients.map((i) => i.name)).toEqual(['Levonorgestrel', 'Ethinyl Estradiol']);
    expect(parsed.doseForm).toBe('Oral Tablet');
  });
});

describe(strengthInMg.name, () => {
  it.each([
    [{ value: 81, unit: 'MG' }, { mg: 81 }],
    [{ value: 0.5, unit: 'GM' }, { mg: 500 }],
    [{ value: 3, unit: '%' }, { mg: 30, per: 'G' }],
    [{ value: 40, unit: 'MG/0.4ML' }, { mg: 100, per: 'G' }],
    [{ value: 100, unit: 'UNT/ML' }, undefined],
  ])('%j → %j', (s, mg) => expect(strengthInMg(s)).toEqual(mg));
});
