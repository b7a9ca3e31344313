import type { MedicationRequest } from 'fhir/r4';
import { SYSTEM } from '../../terminology/code-systems';
import type { ClassInteraction, RankedClass, Recommendation } from '../../recommend/recommendation.types';
import type { CdsCard, CdsCoding, CdsHookName, CdsSource, CdsSuggestion } from '../cds-hooks.types';

/**
 * One-click suggestions per card: the most likely classes first. A demo-scale model passes its
 * threshold for 20+ classes; a clinician does not act on a list that long. The detail still lists
 * every class above the threshold.
 */
export const MAX_SUGGESTIONS = 10;

/** Longest summary emitted (the spec asks for fewer than 140 characters). */
export const MAX_SUMMARY = 139;

export const OVERRIDE_REASON_SYSTEM = 'http://leader-cds.org/fhir/CodeSystem/override-reason';
export const OVERRIDE_REASONS: CdsCoding[] = [
  { system: OVERRIDE_REASON_SYSTEM, code: 'already-treated', display: 'Patient already receives an equivalent medication' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'contraindicated', display: 'Contraindicated for this patient' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'not-indicated', display: 'Not indicated for this visit' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'patient-preference', display: 'Patient preference' },
];

export interface CardContext {
  hook: CdsHookName;
  patientId: string;
  encounterId?: string;
  /** label = model name and version; url = its model-card page. */
  source: CdsSource;
  newUuid: () => string;
  /** One-line model limit shown under the recommendations (e.g. "demo-scale …; not for clinical use"). */
  caveat?: string;
}

/**
 * CDS cards from a Recommendation (pure): order-select → suggested medications; order-sign →
 * reconciliation; patient-view → informational outlook; all hooks → one interaction warning when
 * suggested + drafted classes hold an interacting pair. Optional fields are omitted, never empty.
 */
export function buildCards(rec: Recommendation, ctx: CardContext): CdsCard[] {
  const cards: CdsCard[] = [];
  if (ctx.hook === 'order-select') {
    if (rec.suggested.length > 0) cards.push(suggestedCard(rec, ctx));
  } else if (ctx.hook === 'order-sign') {
    if (rec.suggested.length > 0 || rec.unlikelyDrafted.length > 0) cards.push(reconciliationCard(rec, ctx));
  } else if (rec.suggested.length > 0) {
    cards.push(outlookCard(rec, ctx));
  }
  if (rec.interactions.length > 0) cards.push(interactionCard(rec.interactions, ctx));
  return cards;
}

function suggestedCard(rec: Recommendation, ctx: CardContext): CdsCard {
  const n = rec.suggested.length;
  return {
    uuid: ctx.newUuid(),
    summary: fitSummary(`Suggested medication class${n === 1 ? '' : 'es'}: ${rec.suggested.map(shortName).join(', ')}`),
    detail: detailOf([
      `The model expects ${n === 1 ? 'this class' : 'these classes'} at this visit and ${n === 1 ? 'it is' : 'they are'} not yet ordered or drafted:`,
      classList(rec.suggested),
      cappedLine(rec),
      thresholdLine(rec),
      historyLine(rec),
      ctx.caveat,
    ]),
    indicator: 'info',
    source: ctx.source,
    suggestions: suggestionsOf(rec, ctx),
    selectionBehavior: 'any',
    overrideReasons: OVERRIDE_REASONS,
  };
}

function reconciliationCard(rec: Recommendation, ctx: CardContext): CdsCard {
  const parts: string[] = [];
  if (rec.unlikelyDrafted.length > 0) parts.push(`${rec.unlikelyDrafted.length} drafted class${rec.unlikelyDrafted.length === 1 ? '' : 'es'} unlikely (${rec.unlikelyDrafted.map((c) => c.atc3).join(', ')})`);
  if (rec.suggested.length > 0) parts.push(`${rec.suggested.length} likely class${rec.suggested.length === 1 ? '' : 'es'} missing (${rec.suggested.map((c) => c.atc3).join(', ')})`);
  const card: CdsCard = {
    uuid: ctx.newUuid(),
    summary: fitSummary(`Medication review: ${parts.join('; ')}`),
    detail: detailOf([
      rec.unlikelyDrafted.length > 0 ? `**Drafted, but unlikely for this patient** (below the model's threshold):\n${classList(rec.unlikelyDrafted)}` : undefined,
      rec.suggested.length > 0 ? `**Likely, but missing from the orders:**\n${classList(rec.suggested)}` : undefined,
      rec.unknownDrafted.length > 0 ? `Not assessed (outside the model's classes): ${rec.unknownDrafted.map(shortName).join(', ')}.` : undefined,
      thresholdLine(rec),
      historyLine(rec),
      ctx.caveat,
    ]),
    indicator: rec.unlikelyDrafted.length > 0 ? 'warning' : 'info',
    source: ctx.source,
    overrideReasons: OVERRIDE_REASONS,
  };
  if (rec.suggested.length > 0) {
    card.suggestions = suggestionsOf(rec, ctx);
    card.selectionBehavior = 'any';
  }
  return card;
}

function outlookCard(rec: Recommendation, ctx: CardContext): CdsCard {
  return {
    uuid: ctx.newUuid(),
    summary: fitSummary(`Likely medication classes this visit: ${rec.suggested.map(shortName).join(', ')}`),
    detail: detailOf([
      'The model expects these classes for the current visit (not yet ordered):',
      classList(rec.suggested),
      thresholdLine(rec),
      historyLine(rec),
      ctx.caveat,
    ]),
    indicator: 'info',
    source: ctx.source,
  };
}

function interactionCard(interactions: ClassInteraction[], ctx: CardContext): CdsCard {
  // Pairs that involve a drafted class first: those are already on their way to being signed.
  const sorted = [...interactions].sort((x, y) => draftedCount(y) - draftedCount(x) || pairName(x).localeCompare(pairName(y)));
  const first = sorted[0];
  const more = sorted.length - 1;
  return {
    uuid: ctx.newUuid(),
    summary: fitSummary(`Possible interaction: ${className(first.a)} and ${className(first.b)}${more > 0 ? ` (+${more} more)` : ''}`),
    detail: detailOf([
      'These class pairs are listed as interacting in the model\'s drug-drug interaction matrix (TWOSIDES-derived, class level):',
      sorted.map((i) => `- ${describe(i.a)} (${i.aFrom}) and ${describe(i.b)} (${i.bFrom})`).join('\n'),
      ctx.hook === 'patient-view' ? 'Review the specific drugs before prescribing.' : 'Review the specific drugs before signing.',
    ]),
    indicator: 'warning',
    source: ctx.source,
    overrideReasons: OVERRIDE_REASONS,
  };
}

function suggestionsOf(rec: Recommendation, ctx: CardContext): CdsSuggestion[] {
  return rec.suggested.slice(0, MAX_SUGGESTIONS).map((c) => createSuggestion(c, ctx));
}

function createSuggestion(c: RankedClass, ctx: CardContext): CdsSuggestion {
  const label = c.name ? `${capitalise(c.name)} (ATC ${c.atc3})` : `ATC class ${c.atc3}`;
  const resource: MedicationRequest = {
    resourceType: 'MedicationRequest',
    status: 'draft',
    intent: 'proposal',
    medicationCodeableConcept: {
      coding: [{ system: SYSTEM.atc, code: c.atc3, ...(c.name ? { display: c.name } : {}) }],
      text: c.name ? capitalise(c.name) : `ATC ${c.atc3}`,
    },
    subject: { reference: `Patient/${ctx.patientId}` },
    ...(ctx.encounterId ? { encounter: { reference: `Encounter/${ctx.encounterId}` } } : {}),
  };
  return {
    label: `Draft an order: ${label}`,
    uuid: ctx.newUuid(),
    actions: [{ type: 'create', description: `Add a draft order for ${label}${c.probability !== undefined ? `, model probability ${percent(c.probability)}` : ''}; choose the drug and dose.`, resource }],
  };
}

/** Trims to MAX_SUMMARY characters at a word boundary, with an ellipsis. */
export function fitSummary(text: string): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= MAX_SUMMARY) return clean;
  const cut = clean.slice(0, MAX_SUMMARY - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > MAX_SUMMARY / 2 ? cut.slice(0, space) : cut).replace(/[,;:]$/, '')}…`;
}

function detailOf(lines: (string | undefined)[]): string {
  return lines.filter((l): l is string => l !== undefined && l !== '').join('\n\n');
}

function classList(classes: RankedClass[]): string {
  return classes.map((c) => `- ${describe(c)}${c.probability !== undefined ? `: ${percent(c.probability)}` : ''}`).join('\n');
}

function cappedLine(rec: Recommendation): string | undefined {
  const n = rec.suggested.length;
  return n > MAX_SUGGESTIONS ? `One-click orders are offered for the ${MAX_SUGGESTIONS} most likely of these ${n} classes.` : undefined;
}

function thresholdLine(rec: Recommendation): string {
  return `Threshold: ${percent(rec.threshold)}.`;
}

function historyLine(rec: Recommendation): string | undefined {
  if (rec.priorVisits > 0) return undefined;
  return 'The patient\'s history was empty (first visit): the model used the patient profile and this visit\'s diagnoses and procedures only.';
}

function describe(c: RankedClass): string {
  return c.name ? `${capitalise(c.name)} (ATC ${c.atc3})` : `ATC ${c.atc3}`;
}

function shortName(c: RankedClass): string {
  return c.name ? `${c.name} (${c.atc3})` : c.atc3;
}

function className(c: RankedClass): string {
  return c.name ? `${c.name} (${c.atc3})` : `ATC ${c.atc3}`;
}

function pairName(i: ClassInteraction): string {
  return `${i.a.atc3}|${i.b.atc3}`;
}

function draftedCount(i: ClassInteraction): number {
  return (i.aFrom === 'drafted' ? 1 : 0) + (i.bFrom === 'drafted' ? 1 : 0);
}

function percent(p: number): string {
  return `${Math.round(p * 100)}%`;
}

function capitalise(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);
}
