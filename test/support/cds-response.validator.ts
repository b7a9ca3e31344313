import { isRecord as isObject } from '../../src/common/is-record';

/**
 * Checks a CDS Hooks 2.0 service response: the card schema (required fields, closed value sets,
 * summary < 140 characters), invariants cds-resp-1..7 (HL7/cds-hooks input/fsh/invariants), and
 * the JSON rule that optional fields are never null, "", [] or {} (except the required `cards`).
 * Returns the list of problems (empty when valid), each with its JSON path.
 */
export function validateCdsResponse(body: unknown): string[] {
  const problems: string[] = [];
  const add = (path: string, message: string): void => {
    problems.push(`${path}: ${message}`);
  };
  if (!isObject(body)) return ['$: response must be a JSON object'];
  if (!Array.isArray(body.cards)) add('$.cards', 'required array');
  noEmpties(body, '$', add, true);
  const cards = Array.isArray(body.cards) ? body.cards : [];
  cards.forEach((card: unknown, i: number) => checkCard(card, `$.cards[${i}]`, add));
  if (body.systemActions !== undefined) {
    if (!Array.isArray(body.systemActions)) add('$.systemActions', 'must be an array');
    else body.systemActions.forEach((a: unknown, i: number) => checkAction(a, `$.systemActions[${i}]`, add));
  }
  return problems;
}

type Add = (path: string, message: string) => void;

function checkCard(card: unknown, p: string, add: Add): void {
  if (!isObject(card)) return add(p, 'card must be an object');
  if (typeof card.summary !== 'string' || card.summary.length === 0) add(`${p}.summary`, 'required string');
  else if ([...card.summary].length >= 140) add(`${p}.summary`, `must be under 140 characters (has ${[...card.summary].length})`);
  if (!['info', 'warning', 'critical'].includes(card.indicator as string)) add(`${p}.indicator`, 'must be info, warning or critical');
  if (!isObject(card.source)) add(`${p}.source`, 'required object');
  else {
    if (typeof card.source.label !== 'string' || card.source.label === '') add(`${p}.source.label`, 'required string');
    if (card.source.url !== undefined && !isAbsoluteUrl(card.source.url)) add(`${p}.source.url`, 'must be an absolute URL');
    if (card.source.icon !== undefined && !isAbsoluteUrl(card.source.icon)) add(`${p}.source.icon`, 'must be an absolute URL');
  }
  if (card.uuid !== undefined && typeof card.uuid !== 'string') add(`${p}.uuid`, 'must be a string');
  if (card.detail !== undefined && typeof card.detail !== 'string') add(`${p}.detail`, 'must be a string');
  // cds-resp-6: suggestions → selectionBehavior.
  if (card.suggestions !== undefined && card.selectionBehavior === undefined) add(`${p}.selectionBehavior`, 'required when suggestions are present (cds-resp-6)');
  if (card.selectionBehavior !== undefined && !['at-most-one', 'any'].includes(card.selectionBehavior as string)) add(`${p}.selectionBehavior`, 'must be at-most-one or any');
  if (card.suggestions !== undefined) {
    if (!Array.isArray(card.suggestions)) add(`${p}.suggestions`, 'must be an array');
    else {
      const recommended = card.suggestions.filter((s: unknown) => isObject(s) && s.isRecommended === true).length;
      // cds-resp-1: at most one isRecommended with at-most-one.
      if (card.selectionBehavior === 'at-most-one' && recommended > 1) add(`${p}.suggestions`, 'at most one isRecommended when selectionBehavior is at-most-one (cds-resp-1)');
      card.suggestions.forEach((s: unknown, i: number) => checkSuggestion(s, `${p}.suggestions[${i}]`, add));
    }
  }
  if (card.overrideReasons !== undefined) {
    if (!Array.isArray(card.overrideReasons)) add(`${p}.overrideReasons`, 'must be an array');
    else card.overrideReasons.forEach((c: unknown, i: number) => {
      // cds-resp-4: override reasons need display.
      if (!isObject(c) || typeof c.code !== 'string' || c.code === '') add(`${p}.overrideReasons[${i}].code`, 'required string');
      if (!isObject(c) || typeof c.display !== 'string' || c.display === '') add(`${p}.overrideReasons[${i}].display`, 'required for override reasons (cds-resp-4)');
    });
  }
  if (card.links !== undefined) {
    if (!Array.isArray(card.links)) add(`${p}.links`, 'must be an array');
    else card.links.forEach((l: unknown, i: number) => {
      const lp = `${p}.links[${i}]`;
      if (!isObject(l)) return add(lp, 'must be an object');
      if (typeof l.label !== 'string') add(`${lp}.label`, 'required string');
      if (!isAbsoluteUrl(l.url)) add(`${lp}.url`, 'required absolute URL');
      if (!['absolute', 'smart'].includes(l.type as string)) add(`${lp}.type`, 'must be absolute or smart');
      // cds-resp-3: appContext only for smart links.
      if (l.appContext !== undefined && l.type !== 'smart') add(`${lp}.appContext`, 'only allowed on smart links (cds-resp-3)');
      if (l.autolaunchable !== undefined && typeof l.autolaunchable !== 'boolean') add(`${lp}.autolaunchable`, 'must be a boolean');
    });
  }
}

function checkSuggestion(s: unknown, p: string, add: Add): void {
  if (!isObject(s)) return add(p, 'suggestion must be an object');
  if (typeof s.label !== 'string' || s.label === '') add(`${p}.label`, 'required string');
  if (s.uuid !== undefined && typeof s.uuid !== 'string') add(`${p}.uuid`, 'must be a string');
  if (s.isRecommended !== undefined && typeof s.isRecommended !== 'boolean') add(`${p}.isRecommended`, 'must be a boolean');
  // cds-resp-7: actionSelectionBehavior values (3.0 STU).
  if (s.actionSelectionBehavior !== undefined && !['all', 'any', 'at-most-one'].includes(s.actionSelectionBehavior as string)) {
    add(`${p}.actionSelectionBehavior`, 'must be all, any or at-most-one (cds-resp-7)');
  }
  if (s.actions !== undefined) {
    if (!Array.isArray(s.actions)) add(`${p}.actions`, 'must be an array');
    else s.actions.forEach((a: unknown, i: number) => checkAction(a, `${p}.actions[${i}]`, add));
  }
}

function checkAction(a: unknown, p: string, add: Add): void {
  if (!isObject(a)) return add(p, 'action must be an object');
  if (!['create', 'update', 'delete'].includes(a.type as string)) add(`${p}.type`, 'must be create, update or delete');
  // cds-resp-5: every action has a description.
  if (typeof a.description !== 'string' || a.description === '') add(`${p}.description`, 'required (cds-resp-5)');
  // cds-resp-2: delete → resourceId, never resource.
  if (a.type === 'delete') {
    if (a.resource !== undefined) add(`${p}.resource`, 'not allowed on delete; use resourceId (cds-resp-2)');
    if (typeof a.resourceId !== 'string') add(`${p}.resourceId`, 'required on delete (cds-resp-2)');
  }
  if ((a.type === 'create' || a.type === 'update') && (!isObject(a.resource) || typeof a.resource.resourceType !== 'string')) {
    add(`${p}.resource`, `a FHIR resource is required for ${String(a.type)}`);
  }
}

/** Optional attributes with no value must be omitted (cds-fhir.md §1.5); `cards: []` is the one allowed empty. */
function noEmpties(v: unknown, p: string, add: Add, isRoot = false): void {
  if (v === null) return add(p, 'null is not allowed');
  if (typeof v === 'string' && v === '') return add(p, 'empty string is not allowed');
  if (Array.isArray(v)) {
    if (v.length === 0 && !(p === '$.cards')) add(p, 'empty array is not allowed');
    v.forEach((x, i) => noEmpties(x, `${p}[${i}]`, add));
    return;
  }
  if (isObject(v)) {
    if (!isRoot && Object.keys(v).length === 0) add(p, 'empty object is not allowed');
    for (const [k, x] of Object.entries(v)) noEmpties(x, `${p}.${k}`, add);
  }
}

function isAbsoluteUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    return /^https?:$/.test(new URL(v).protocol);
  } catch {
    return false;
  }
}
