import { DdiIndex } from '../../recommend/ddi-index';
import { recommend } from '../../recommend/recommend';
import { buildCards, fitSummary, MAX_SUGGESTIONS, MAX_SUMMARY } from './card.builder';

describe(buildCards.name, () => {
  let n = 0;
  const ctx = { patientId: 'p1', source: { label: 'leader-student 0.1.0', url: 'http://x/models/leader-student' }, newUuid: () => `u-${++n}` };
  const rec = (drafted: string[] = [], priorVisits = 1) => recommend({
    labels: ['A02B', 'B01A', 'N02B'], probs: [0.9, 0.6, 0.1], threshold: 0.4, orderedAtc3: [], draftedAtc3: drafted,
    ddi: new DdiIndex([['B01A', 'N02B']]), className: () => undefined, priorVisits,
  });

  it('order-select: one suggestion per class, each a draft MedicationRequest proposal, uuids everywhere, no empty fields', () => {
    const [card] = buildCards(rec(), { ...ctx, hook: 'order-select' });
    expect(card.selectionBehavior).toBe('any');
    expect(card.suggestions!.map((s) => s.actions![0].resource)).toEqual([
      expect.objectContaining({ status: 'draft', intent: 'proposal', medicationCodeableConcept: { coding: [{ system: 'http://www.whocc.no/atc', code: 'A02B' }], text: 'ATC A02B' } }),
      expect.objectContaining({ medicationCodeableConcept: expect.objectContaining({ coding: [expect.objectContaining({ code: 'B01A' })] }) }),
    ]);
    expect(card.suggestions!.every((s) => s.uuid)).toBe(true);
    expect(JSON.stringify(card)).not.toMatch(/null|""|\[\]|\{\}/);
    expect(card.suggestions![0].actions![0].resource).not.toHaveProperty('encounter');
  });

  it('order-sign: a reconciliation card for an unlikely draft, and an interaction warning naming both classes', () => {
    const cards = buildCards(rec(['N02B']), { ...ctx, hook: 'order-sign' });
    expect(cards.map((c) => c.indicator)).toEqual(['warning', 'warning']);
    expect(cards[0].summary).toContain('1 drafted class unlikely (N02B)');
    expect(cards[1].summary).toContain('N02B');
    expect(cards[1].summary).toContain('B01A');
  });

  it('says the history was empty for a first visit, and emits nothing when nothing is likely', () => {
    const [card] = buildCards(rec([], 0), { ...ctx, hook: 'patient-view' });
    expect(card.detail).toContain('history was empty');
    expect(card.suggestions).toBeUndefined();
    const none = recommend({ labels: ['A02B'], probs: [0.1], threshold: 0.4, orderedAtc3: [], draftedAtc3: [], ddi: new DdiIndex([]), className: () => undefined, priorVisits: 0 });
    expect(buildCards(none, { ...ctx, hook: 'order-select' })).toEqual([]);
  });

  it('offers one-click orders for the most likely classes only, and lists every class in the detail', () => {
    const labels = Array.from({ length: MAX_SUGGESTIONS + 5 }, (_, i) => `A${String(i).padStart(2, '0')}A`);
    const many = recommend({
      labels, probs: labels.map((_, i) => 0.99 - i * 0.01), threshold: 0.4, orderedAtc3: [], draftedAtc3: [],
      ddi: new DdiIndex([]), className: () => undefined, priorVisits: 2,
    });
    const [card] = buildCards(many, { ...ctx, hook: 'order-select' });
    expect(card.suggestions!.map((s) => s.actions![0].resource)).toHaveLength(MAX_SUGGESTIONS);
    expect((card.suggestions![0].actions![0].resource as { medicationCodeableConcept: { coding: { code: string }[] } }).medicationCodeableConcept.coding[0].code).toBe('A00A');
    for (const code of labels) expect(card.detail).toContain(code);
    expect(card.detail).toContain(`${MAX_SUGGESTIONS} most likely of these ${labels.length} classes`);
  });

  it('keeps summaries under 140 characters', () => {
    expect(fitSummary('word '.repeat(60)).length).toBeLessThanOrEqual(MAX_SUMMARY);
  });
});
