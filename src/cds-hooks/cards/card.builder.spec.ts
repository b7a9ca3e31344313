import { DdiIndex } from '../../recommend/ddi-index';
import { recommend, type RecommendInput } from '../../recommend/recommend';
import { buildCards, fitSummary, MAX_SUGGESTIONS, MAX_SUMMARY, type IssuedSuggestion } from './card.builder';

const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';

describe(buildCards.name, () => {
  let n = 0;
  const ctx = { patientId: 'p1', source: { label: 'leader-student 0.1.0', url: 'http://x/models/leader-student' }, newUuid: () => `u-${++n}` };
  const base: RecommendInput = {
    labels: ['A02B', 'B01A', 'M01A'], probs: [0.9, 0.6, 0.1], threshold: 0.4, ddi: new DdiIndex([['B01A', 'M01A']]),
    className: (c) => ({ B01A: 'antithrombotic agents', M01A: 'antiinflammatory and antirheumatic products, non-steroids' } as Record<string, string>)[c],
    priorVisits: 1, current: [], drafts: [], neverSuggest: [],
    patientProducts: new Map([['A02B', { atc3: ['A02B'], coding: { system: RX, code: '40790', display: 'pantoprazole 40 MG' }, date: '2024-01-01' }]]),
    evidence: () => [{ kind: 'diagnosis', token: 'icd10cm:K21.9', name: 'Gastro-esophageal reflux disease without esophagitis (K21.9)', effect: 0.21 }],
  };
  const warfarin = { drug: 'Warfarin 5 MG Oral Tablet', atc3: ['B01A'], source: 'MedicationRequest' as const, status: 'active' };
  const naproxen = { orderRef: 'MedicationRequest/d1', drug: 'Naproxen 500 MG Oral Tablet', atc3: ['M01A'], atTheOrder: true };

  it('order-select: one-click orders code the product and the ATC class, no dose, say which rule chose it; evidence in the detail', () => {
    const issued: IssuedSuggestion[] = [];
    const [card] = buildCards(recommend(base), { ...ctx, hook: 'order-select' }, issued);
    expect(card.summary).toMatch(/^Consider: /);
    expect(card.suggestions).toHaveLength(1);
    const action = card.suggestions![0].actions![0];
    expect(action.resource).toMatchObject({ status: 'draft', intent: 'proposal', medicationCodeableConcept: { coding: [{ system: RX, code: '40790' }, { system: 'http://www.whocc.no/atc', code: 'A02B' }] } });
    expect(action.resource).not.toHaveProperty('dosageInstruction');
    expect(action.description).toContain('last prescribed to this patient');
    expect(card.detail).toContain('Why: Gastro-esophageal reflux disease without esophagitis (K21.9) +21 pts');
    expect(card.detail).toContain('*Blood and blood forming organs*');
    expect(card.detail).toContain('no training product list');
    expect(issued).toEqual([{ uuid: card.suggestions![0].uuid, atc3: 'A02B', product: { system: RX, code: '40790', display: 'pantoprazole 40 MG' } }]);
    expect(JSON.stringify(card)).not.toMatch(/null|""|\[\]|\{\}/);
  });

  it('order-select: the interaction card names the drafted and the current drug, with interaction override reasons', () => {
    const cards = buildCards(recommend({ ...base, current: [warfarin], drafts: [naproxen] }), { ...ctx, hook: 'order-select' });
    expect(cards[0]).toMatchObject({ indicator: 'warning', summary: 'Possible interaction: Naproxen 500 MG Oral Tablet (drafted) with Warfarin 5 MG Oral Tablet (current)' });
    expect(cards[0].overrideReasons!.map((r) => r.code)).toContain('will-monitor');
    expect(cards[1].detail).toContain('**Continue**');
    expect(cards[1].detail).not.toMatch(/^- Antithrombotic/m);
  });

  it('order-sign: one card about the order being signed; missing classes are a secondary line', () => {
    const [card, ...rest] = buildCards(recommend({ ...base, drafts: [naproxen] }), { ...ctx, hook: 'order-sign' });
    expect(rest).toEqual([]);
    expect(card.summary).toBe("Naproxen 500 MG Oral Tablet (M01A): 10% likely for this patient, below the model's threshold");
    expect(card.indicator).toBe('info');
    expect(card.detail).toContain('Also likely for this patient, not ordered');
    const unclassed = buildCards(recommend({ ...base, drafts: [{ ...naproxen, drug: 'Herbal tea', atc3: [] }] }), { ...ctx, hook: 'order-sign' });
    expect(unclassed[0].summary).toBe('Herbal tea: not assessed by the model');
  });

  it('order-sign names recorded medications no class was given, most orders first, the rest counted', () => {
    const notAssessed = ['Zyzzyx', 'Bag', 'Vial', 'Quux', 'Frob', 'Baz'].map((drug, i) => ({ drug, orders: 6 - i }));
    const [card] = buildCards(recommend({ ...base, drafts: [naproxen], notAssessed }), { ...ctx, hook: 'order-sign' });
    expect(card.detail).toContain('Not assessed — in the record but not classed, so the model and the interaction check did not see them: '
      + 'Zyzzyx (6 orders); Bag (5 orders); Vial (4 orders); Quux (3 orders); Frob (2 orders) (+1 more).');
    const [clean] = buildCards(recommend({ ...base, drafts: [naproxen] }), { ...ctx, hook: 'order-sign' });
    expect(clean.detail).not.toContain('Not assessed');
  });

  it('patient-view: no interaction among recommendations; interactions among current medications only', () => {
    const view = buildCards(recommend(base), { ...ctx, hook: 'patient-view' });
    expect(view.map((c) => c.indicator)).toEqual(['info']);
    const aspirin = { ...warfarin, drug: 'Ibuprofen 400 MG', atc3: ['M01A'] };
    const both = buildCards(recommend({ ...base, current: [warfarin, aspirin] }), { ...ctx, hook: 'patient-view' });
    expect(both.map((c) => c.summary.split(':')[0])).toEqual(['Likely new medication classes this visit', 'Current medications, possible interaction']);
    expect(both[1].indicator).toBe('info');
  });

  it('a deceased patient gets one card and no suggestions', () => {
    const cards = buildCards(recommend({ ...base, deceased: { since: '2180-02-03' } }), { ...ctx, hook: 'order-select' });
    expect(cards).toHaveLength(1);
    expect(cards[0].summary).toContain('deceased (2180-02-03)');
    expect(cards[0].suggestions).toBeUndefined();
  });

  it('caps one-click orders, and says the history was empty for a first visit', () => {
    const labels = Array.from({ length: MAX_SUGGESTIONS + 5 }, (_, i) => `A${String(i).padStart(2, '0')}A`);
    const products = new Map(labels.map((l) => [l, { atc3: [l], coding: { system: RX, code: l } }]));
    const [card] = buildCards(recommend({ ...base, labels, probs: labels.map((_, i) => 0.99 - i * 0.01), patientProducts: products, priorVisits: 0 }), { ...ctx, hook: 'order-select' });
    expect(card.suggestions).toHaveLength(MAX_SUGGESTIONS);
    for (const code of labels) expect(card.detail).toContain(code);
    expect(card.detail).toContain("Also above the threshold");
    expect(card.detail).toContain('history was empty');
  });

  it('keeps summaries under 140 characters', () => {
    expect(fitSummary('word '.repeat(60)).length).toBeLessThanOrEqual(MAX_SUMMARY);
  });

  it('links each medication card to the SMART app with appContext naming the hook instance, the suggested classes and the model', () => {
    const smartApp = { launchUrl: 'https://cds.example.org/smart/launch', hookInstance: 'h-1', model: { name: 'leader-student', version: '0.1.0' } };
    const cards = buildCards(recommend({ ...base, current: [warfarin], drafts: [naproxen] }), { ...ctx, hook: 'order-select', smartApp });
    expect(cards.length).toBeGreaterThan(1);
    for (const card of cards) {
      expect(card.links).toEqual([{ label: 'Review in the medication app', url: smartApp.launchUrl, type: 'smart', appContext: expect.any(String) }]);
      expect(JSON.parse(card.links![0].appContext!)).toEqual({ hookInstance: 'h-1', suggested: ['A02B'], model: smartApp.model });
    }
    expect(buildCards(recommend(base), { ...ctx, hook: 'order-select' })[0].links).toBeUndefined();
  });
});
