import { validateCdsResponse } from './cds-response.validator';

const source = { label: 'leader-student 0.1.0', url: 'http://127.0.0.1/models/leader-student' };
const card = (extra: Record<string, unknown> = {}) => ({ uuid: 'c1', summary: 'Suggested classes', indicator: 'info', source, ...extra });

describe(validateCdsResponse.name, () => {
  it('accepts {"cards": []} and a complete card', () => {
    expect(validateCdsResponse({ cards: [] })).toEqual([]);
    const ok = card({
      selectionBehavior: 'any',
      overrideReasons: [{ code: 'x', system: 'http://s', display: 'X' }],
      suggestions: [{ label: 'Add', uuid: 's1', actions: [{ type: 'create', description: 'Draft', resource: { resourceType: 'MedicationRequest' } }] }],
    });
    expect(validateCdsResponse({ cards: [ok] })).toEqual([]);
  });

  it.each([
    ['cds-resp-1', card({ selectionBehavior: 'at-most-one', suggestions: [{ label: 'a', isRecommended: true }, { label: 'b', isRecommended: true }] }), 'cds-resp-1'],
    ['cds-resp-2', card({ selectionBehavior: 'any', suggestions: [{ label: 'a', actions: [{ type: 'delete', description: 'd', resource: { resourceType: 'X' } }] }] }), 'cds-resp-2'],
    ['cds-resp-3', card({ links: [{ label: 'l', url: 'http://x', type: 'absolute', appContext: 'c' }] }), 'cds-resp-3'],
    ['cds-resp-4', card({ overrideReasons: [{ code: 'x' }] }), 'cds-resp-4'],
    ['cds-resp-5', card({ selectionBehavior: 'any', suggestions: [{ label: 'a', actions: [{ type: 'create', resource: { resourceType: 'X' } }] }] }), 'cds-resp-5'],
    ['cds-resp-6', card({ suggestions: [{ label: 'a' }] }), 'cds-resp-6'],
    ['cds-resp-7', card({ selectionBehavior: 'any', suggestions: [{ label: 'a', actionSelectionBehavior: 'some' }] }), 'cds-resp-7'],
    ['summary length', card({ summary: 'x'.repeat(140) }), 'under 140'],
    ['null field', card({ detail: null }), 'null'],
    ['empty array', card({ links: [] }), 'empty array'],
    ['empty string', card({ detail: '' }), 'empty string'],
    ['indicator', card({ indicator: 'hard-stop' }), 'indicator'],
  ])('rejects %s', (_name, bad, expected) => {
    const problems = validateCdsResponse({ cards: [bad] });
    expect(problems.join('\n')).toContain(expected);
  });
});
