import type { MedicationRequest } from 'fhir/r4';
import { SYSTEM } from '../../terminology/code-systems';
import type {
  ClassRecommendation, DraftedOrderReview, DrugInteraction, EvidenceItem, InteractionSide, RecommendationResult,
} from '../../recommend/recommendation.types';
import type { CdsCard, CdsCoding, CdsHookName, CdsSource, CdsSuggestion } from '../cds-hooks.types';

/** One-click orders per card: the most likely suggestions that have a product. */
export const MAX_SUGGESTIONS = 5;
/** Classes named in a summary. */
export const SUMMARY_NAMES = 3;
/** Suggested classes spelled out with product, interactions and evidence (and every one-click one); the rest are named only. */
export const DETAILED_CLASSES = 8;
/** Interacting pairs spelled out on a card; the rest are counted. */
export const MAX_PAIRS = 3;
/** Not-assessed medications named on an order review; the rest are counted. */
export const NOT_ASSESSED_NAMES = 5;

/** Longest summary emitted (the spec asks for fewer than 140 characters). */
export const MAX_SUMMARY = 139;

export const OVERRIDE_REASON_SYSTEM = 'http://leader-cds.org/fhir/CodeSystem/override-reason';
export const OVERRIDE_REASONS: CdsCoding[] = [
  { system: OVERRIDE_REASON_SYSTEM, code: 'already-treated', display: 'Patient already receives an equivalent medication' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'contraindicated', display: 'Contraindicated for this patient' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'not-indicated', display: 'Not indicated for this visit' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'patient-preference', display: 'Patient preference' },
];
export const INTERACTION_OVERRIDE_REASONS: CdsCoding[] = [
  { system: OVERRIDE_REASON_SYSTEM, code: 'benefit-outweighs-risk', display: 'Benefit outweighs the interaction risk' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'will-monitor', display: 'Will monitor the patient (levels, INR, symptoms)' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'tolerated-before', display: 'Patient has tolerated this combination before' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'not-relevant', display: 'Interaction not relevant for these drugs or doses' },
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
  /** The SMART app each medication card links to (`links` of type smart, with appContext). */
  smartApp?: SmartAppLink;
}

/** Where the SMART app is launched from a card, and what its appContext carries. */
export interface SmartAppLink {
  launchUrl: string;
  hookInstance: string;
  model: { name: string; version: string };
}

/** What a one-click suggestion proposes (kept by the service to tie feedback back to it). */
export interface IssuedSuggestion {
  uuid: string;
  atc3: string;
  product?: { system: string; code: string; display?: string };
}

/**
 * CDS cards from a RecommendationResult (pure). order-select: a warning about interactions of the
 * drafted orders (when any), then the suggestions with one-click orders of a concrete product.
 * order-sign: a review of the orders being signed. patient-view: the outlook and interactions among
 * current medications. A deceased patient gets one card and no suggestions. Optional fields are
 * omitted, never empty.
 */
export function buildCards(rec: RecommendationResult, ctx: CardContext, issued: IssuedSuggestion[] = []): CdsCard[] {
  if (rec.deceased) return [deceasedCard(rec, ctx)];
  const cards = medicationCards(rec, ctx, issued);
  const app = ctx.smartApp;
  if (app === undefined) return cards;
  // appContext reaches the app in its token response: which classes this card suggested, and from which model.
  const appContext = JSON.stringify({ hookInstance: app.hookInstance, suggested: rec.suggestions.map((c) => c.atc3), model: app.model });
  return cards.map((card) => ({ ...card, links: [...(card.links ?? []), { label: 'Review in the medication app', url: app.launchUrl, type: 'smart', appContext }] }));
}

function medicationCards(rec: RecommendationResult, ctx: CardContext, issued: IssuedSuggestion[]): CdsCard[] {
  const cards: CdsCard[] = [];
  if (ctx.hook === 'order-select') {
    const orderPairs = rec.interactions.filter((i) => i.a.role === 'drafted' && i.b.role !== 'suggested');
    if (orderPairs.length > 0) cards.push(interactionCard(orderPairs, ctx, 'order'));
    if (rec.suggestions.length > 0) cards.push(suggestionCard(rec, ctx, issued));
  } else if (ctx.hook === 'order-sign') {
    const reviewed = rec.drafted.filter((d) => d.atTheOrder);
    if (reviewed.length > 0) cards.push(orderReviewCard(rec, reviewed, ctx));
  } else {
    if (rec.suggestions.length > 0 || rec.continued.length > 0) cards.push(outlookCard(rec, ctx));
    const currentPairs = rec.interactions.filter((i) => i.a.role === 'current' && i.b.role === 'current');
    if (currentPairs.length > 0) cards.push(interactionCard(currentPairs, ctx, 'current'));
  }
  return cards;
}

function deceasedCard(rec: RecommendationResult, ctx: CardContext): CdsCard {
  const since = rec.deceased?.since ? ` (${rec.deceased.since.slice(0, 10)})` : '';
  const ordering = ctx.hook !== 'patient-view' && rec.drafted.length > 0;
  return {
    uuid: ctx.newUuid(),
    summary: fitSummary(`Patient is recorded as deceased${since}: no medication suggestions`),
    detail: detailOf([
      `The patient record says the patient died${since}. The model makes no suggestions for a deceased patient.`,
      ordering ? 'Check the patient and the record before signing these orders.' : undefined,
    ]),
    indicator: ordering ? 'warning' : 'info',
    source: ctx.source,
  };
}

function suggestionCard(rec: RecommendationResult, ctx: CardContext, issued: IssuedSuggestion[]): CdsCard {
  const named = rec.suggestions.slice(0, SUMMARY_NAMES).map(orderName);
  const more = rec.suggestions.length - named.length;
  const oneClick = rec.suggestions.filter((c) => c.product).slice(0, MAX_SUGGESTIONS);
  const suggestions = oneClick.map((c) => createSuggestion(c, rec, ctx, issued));
  const card: CdsCard = {
    uuid: ctx.newUuid(),
    summary: fitSummary(`Consider: ${named.join('; ')}${more > 0 ? ` (+${more} more)` : ''}`),
    detail: detailOf([
      `**Suggested** — likely for this patient at this visit, not current and not drafted (${rec.suggestions.length}):`,
      groupedList(rec.suggestions.filter((c, i) => i < DETAILED_CLASSES || oneClick.includes(c)), rec),
      alsoLikelyLine(rec.suggestions.filter((c, i) => i >= DETAILED_CLASSES && !oneClick.includes(c))),
      continuedLine(rec),
      neverSuggestedLine(rec),
      productLine(rec, oneClick.length),
      probabilityLine(rec),
      historyLine(rec),
      ctx.caveat,
    ]),
    indicator: 'info',
    source: ctx.source,
    overrideReasons: OVERRIDE_REASONS,
  };
  if (suggestions.length > 0) {
    card.suggestions = suggestions;
    card.selectionBehavior = 'any';
  }
  return card;
}

function orderReviewCard(rec: RecommendationResult, reviewed: DraftedOrderReview[], ctx: CardContext): CdsCard {
  const pairs = rec.interactions.filter((i) => i.atTheOrder);
  const headline = reviewed.length === 1 ? orderHeadline(reviewed[0], pairs) : `Review of ${reviewed.length} orders: ${ordersTally(reviewed, pairs)}`;
  const missing = rec.suggestions.slice(0, SUMMARY_NAMES).map(shortName);
  return {
    uuid: ctx.newUuid(),
    summary: fitSummary(headline),
    detail: detailOf([
      reviewed.map((d) => orderDetail(d, pairs, rec)).join('\n\n'),
      pairs.length > 0 ? interactionList(pairs, 'the orders being signed') : undefined,
      missing.length > 0 ? `Also likely for this patient, not ordered: ${missing.join('; ')}${rec.suggestions.length > missing.length ? ` (+${rec.suggestions.length - missing.length} more)` : ''}.` : undefined,
      notAssessedLine(rec),
      probabilityLine(rec),
      historyLine(rec),
      ctx.caveat,
    ]),
    indicator: pairs.length > 0 ? 'warning' : 'info',
    source: ctx.source,
    overrideReasons: pairs.length > 0 ? INTERACTION_OVERRIDE_REASONS : OVERRIDE_REASONS,
  };
}

/** Recorded medications that map to no class: named, so nothing drops out of the review unseen. */
function notAssessedLine(rec: RecommendationResult): string | undefined {
  if (rec.notAssessed.length === 0) return undefined;
  const shown = rec.notAssessed.slice(0, NOT_ASSESSED_NAMES).map((m) => `${m.drug}${m.orders > 1 ? ` (${m.orders} orders)` : ''}`);
  const more = rec.notAssessed.length - shown.length;
  return `Not assessed — in the record but not classed, so the model and the interaction check did not see them: ${shown.join('; ')}${more > 0 ? ` (+${more} more)` : ''}.`;
}

function outlookCard(rec: RecommendationResult, ctx: CardContext): CdsCard {
  const named = rec.suggestions.slice(0, SUMMARY_NAMES).map(shortName);
  const more = rec.suggestions.length - named.length;
  return {
    uuid: ctx.newUuid(),
    summary: fitSummary(named.length > 0
      ? `Likely new medication classes this visit: ${named.join('; ')}${more > 0 ? ` (+${more} more)` : ''}`
      : `Likely this visit: continue ${rec.continued.slice(0, SUMMARY_NAMES).map(shortName).join('; ')}`),
    detail: detailOf([
      rec.suggestions.length > 0 ? `**Likely new classes** (not current) (${rec.suggestions.length}):` : undefined,
      rec.suggestions.length > 0 ? groupedList(rec.suggestions.slice(0, DETAILED_CLASSES), rec) : undefined,
      alsoLikelyLine(rec.suggestions.slice(DETAILED_CLASSES)),
      continuedLine(rec),
      neverSuggestedLine(rec),
      probabilityLine(rec),
      historyLine(rec),
      ctx.caveat,
    ]),
    indicator: 'info',
    source: ctx.source,
  };
}

function interactionCard(pairs: DrugInteraction[], ctx: CardContext, about: 'order' | 'current'): CdsCard {
  const first = pairs[0];
  const more = pairs.length - 1;
  return {
    uuid: ctx.newUuid(),
    summary: fitSummary(`${about === 'order' ? 'Possible interaction' : 'Current medications, possible interaction'}: ${sideShort(first.a)} with ${sideShort(first.b)}${more > 0 ? ` (+${more} more)` : ''}`),
    detail: detailOf([
      interactionList(pairs, about === 'order' ? 'the drafted orders' : 'the current medications'),
      about === 'order' ? 'Review the specific drugs and doses before signing.' : 'The patient already takes these; review the combination at the next prescription.',
    ]),
    // Nothing is being ordered in patient-view: known combinations inform, they do not warn.
    indicator: about === 'order' ? 'warning' : 'info',
    source: ctx.source,
    overrideReasons: INTERACTION_OVERRIDE_REASONS,
  };
}

function interactionList(pairs: DrugInteraction[], about: string): string {
  const shown = pairs.slice(0, MAX_PAIRS);
  const rest = pairs.length - shown.length;
  return detailOf([
    `**Interactions involving ${about}** (class level, from the model's TWOSIDES-derived interaction matrix):`,
    shown.map((i) => `- ${sideLong(i.a)} with ${sideLong(i.b)}`).join('\n'),
    rest > 0 ? `${rest} more interacting pair${rest === 1 ? '' : 's'} not shown.` : undefined,
  ]);
}

function createSuggestion(c: ClassRecommendation, rec: RecommendationResult, ctx: CardContext, issued: IssuedSuggestion[]): CdsSuggestion {
  const product = c.product!;
  const drug = product.coding.display ?? `${product.coding.system === SYSTEM.ndc ? 'NDC' : 'RxNorm'} ${product.coding.code}`;
  const resource: MedicationRequest = {
    resourceType: 'MedicationRequest',
    status: 'draft',
    intent: 'proposal',
    medicationCodeableConcept: {
      coding: [
        { system: product.coding.system, code: product.coding.code, ...(product.coding.display ? { display: product.coding.display } : {}) },
        { system: SYSTEM.atc, code: c.atc3, ...(c.name ? { display: c.name } : {}) },
      ],
      text: drug,
    },
    subject: { reference: `Patient/${ctx.patientId}` },
    ...(ctx.encounterId ? { encounter: { reference: `Encounter/${ctx.encounterId}` } } : {}),
  };
  const interacts = interactionsOf(c, rec);
  const uuid = ctx.newUuid();
  issued.push({ uuid, atc3: c.atc3, product: product.coding });
  return {
    label: fitSummary(`Draft ${drug} (${describe(c)})${interacts.length > 0 ? ` — interacts with ${interacts.join(', ')}` : ''}`),
    uuid,
    actions: [{
      type: 'create',
      description: detailOf([
        `Add a draft order for ${drug}, class ${describe(c)}${c.probability !== undefined ? `, model probability ${percent(c.probability)}` : ''}.`,
        `Product chosen as ${product.because}.`,
        interacts.length > 0 ? `Interacts with ${interacts.join(', ')}.` : undefined,
        'No dose is proposed: set dose, route and frequency before signing.',
      ]).replace(/\n\n/g, ' '),
      resource,
    }],
  };
}

/** "Naproxen 500 mg tab: Anti-inflammatory … (M01A), 3% for this patient (unlikely); interacts with Warfarin (current)". */
function orderHeadline(d: DraftedOrderReview, pairs: DrugInteraction[]): string {
  const mine = pairs.filter((p) => p.a.orderRef === d.orderRef || p.b.orderRef === d.orderRef);
  if (mine.length > 0) {
    const other = (p: DrugInteraction) => (p.a.orderRef === d.orderRef ? p.b : p.a);
    return `${d.drug}: interacts with ${other(mine[0]).drug} (${other(mine[0]).role})${mine.length > 1 ? ` and ${mine.length - 1} more` : ''}`;
  }
  if (!d.assessed) return `${d.drug}: not assessed by the model`;
  const c = assessedClass(d);
  return `${d.drug} (${c.atc3}): ${percent(c.probability!)} likely for this patient${c.aboveThreshold ? '' : ', below the model\'s threshold'}`;
}

function ordersTally(reviewed: DraftedOrderReview[], pairs: DrugInteraction[]): string {
  const interacting = reviewed.filter((d) => pairs.some((p) => p.a.orderRef === d.orderRef || p.b.orderRef === d.orderRef)).length;
  const unlikely = reviewed.filter((d) => d.assessed && !assessedClass(d).aboveThreshold).length;
  const notAssessed = reviewed.filter((d) => !d.assessed).length;
  const parts = [
    interacting > 0 ? `${interacting} with interactions` : undefined,
    unlikely > 0 ? `${unlikely} below the model's threshold` : undefined,
    notAssessed > 0 ? `${notAssessed} not assessed` : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'all likely for this patient';
}

function orderDetail(d: DraftedOrderReview, pairs: DrugInteraction[], rec: RecommendationResult): string {
  if (d.classes.length === 0) return `**${d.drug}**: not assessed — the drug could not be classed to an ATC class.`;
  if (!d.assessed) return `**${d.drug}**: not assessed — ${d.classes.map(describe).join(', ')} is outside the classes the model predicts.`;
  const c = assessedClass(d);
  const mine = pairs.filter((p) => p.a.orderRef === d.orderRef || p.b.orderRef === d.orderRef);
  const taking = rec.current.filter((m) => m.atc3.includes(c.atc3)).map((m) => m.drug);
  return detailOf([
    `**${d.drug}** — ${describe(c)}: ${percent(c.probability!)} for this patient (${c.aboveThreshold ? 'above' : 'below'} the model's ${percent(rec.threshold)} threshold).`,
    taking.length > 0 ? `The patient already takes ${[...new Set(taking)].slice(0, 2).join(', ')} of this class: this order continues it.` : undefined,
    c.aboveThreshold ? undefined : 'A low probability means the class is seldom ordered in admissions like this one in the training data; it is not a contraindication.',
    evidenceLine(c.evidence),
    mine.length > 0 ? `Interacts with ${mine.map((p) => (p.a.orderRef === d.orderRef ? p.b : p.a)).map((s) => `${s.drug} (${s.role})`).join(', ')}.` : undefined,
  ]).replace(/\n\n/g, '\n');
}

/** The drafted order's class the model assessed with the highest probability. */
function assessedClass(d: DraftedOrderReview): ClassRecommendation {
  return d.classes.filter((c) => c.probability !== undefined).sort((a, b) => b.probability! - a.probability!)[0];
}

/** Classes grouped by ATC anatomical group, groups in order of their most likely class. */
function groupedList(classes: ClassRecommendation[], rec: RecommendationResult): string {
  const groups = new Map<string, ClassRecommendation[]>();
  for (const c of classes) groups.set(c.group.code, [...(groups.get(c.group.code) ?? []), c]);
  return [...groups.values()].map((members) => [
    `*${members[0].group.name}*`,
    ...members.map((c) => {
      const interacts = interactionsOf(c, rec);
      return [
        `- ${describe(c)}: ${percent(c.probability ?? 0)}`,
        c.product ? ` · ${c.product.coding.display ?? c.product.coding.code} (${c.product.rule === 'patient-last' ? "patient's last" : 'most prescribed in training'})` : '',
        interacts.length > 0 ? ` · ⚠ interacts with ${interacts.join(', ')}` : '',
        c.evidence.length > 0 ? `\n  ${evidenceLine(c.evidence)}` : '',
      ].join('');
    }),
  ].join('\n')).join('\n');
}

function evidenceLine(evidence: EvidenceItem[]): string | undefined {
  if (evidence.length === 0) return undefined;
  return `Why: ${evidence.map((e) => `${e.name} ${signedPoints(e.effect)}`).join('; ')}`;
}

/** The drugs a suggestion interacts with: two named, the rest counted. */
function interactionsOf(c: ClassRecommendation, rec: RecommendationResult): string[] {
  const all = rec.interactions
    .filter((i) => (i.a.role === 'suggested' && i.a.atc3 === c.atc3) || (i.b.role === 'suggested' && i.b.atc3 === c.atc3))
    .map((i) => (i.a.role === 'suggested' && i.a.atc3 === c.atc3 ? i.b : i.a))
    .map((s) => `${s.drug} (${s.role})`);
  return all.length > 2 ? [...all.slice(0, 2), `${all.length - 2} more`] : all;
}

function alsoLikelyLine(rest: ClassRecommendation[]): string | undefined {
  if (rest.length === 0) return undefined;
  return `Also above the threshold: ${rest.map((c) => `${shortName(c)} ${percent(c.probability ?? 0)}`).join('; ')}.`;
}

function continuedLine(rec: RecommendationResult): string | undefined {
  if (rec.continued.length === 0) return undefined;
  return `**Continue** — likely and already taken: ${rec.continued.map((c) => `${shortName(c)}${c.drugs.length > 0 ? ` (${c.drugs.slice(0, 2).join(', ')})` : ''}`).join('; ')}.`;
}

function neverSuggestedLine(rec: RecommendationResult): string | undefined {
  const n = rec.neverSuggested.length;
  if (n === 0) return undefined;
  return `Not offered: ${n} likely class${n === 1 ? '' : 'es'} on the model's never-suggest list (${rec.neverSuggested.map((c) => c.atc3).join(', ')}).`;
}

function productLine(rec: RecommendationResult, oneClick: number): string {
  const without = rec.suggestions.filter((c) => !c.product).length;
  const parts = [
    oneClick > 0 ? `One-click draft orders name a product: the patient's last product in the class, else the one most prescribed in the training data.` : undefined,
    rec.productSource === 'patient-history-only'
      ? 'This model folder has no training product list (products.json), so products come from the patient\'s history only.'
      : undefined,
    without > 0 ? `${without} suggested class${without === 1 ? ' has' : 'es have'} no known product and no one-click order.` : undefined,
  ];
  return parts.filter(Boolean).join(' ');
}

function probabilityLine(rec: RecommendationResult): string {
  const e = rec.evidenceInputs;
  const coverage = e && e.occluded < e.total ? ` "Why" weighed the ${e.occluded} most recent of the patient's ${e.total} inputs.` : '';
  return `Percentages are the model's probability that this class is ordered at this visit for a patient with this history; classes above ${percent(rec.threshold)} (chosen on validation data) count as likely. "Why" lists the patient's inputs whose removal changes that probability most (points = percentage points): an association in the model, not a cause.${coverage}`;
}

function historyLine(rec: RecommendationResult): string | undefined {
  if (rec.priorVisits > 0) return undefined;
  return 'The patient\'s history was empty (first visit): the model used the patient profile and this visit\'s diagnoses and procedures only.';
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

function describe(c: ClassRecommendation): string {
  return c.name ? `${c.name} (ATC ${c.atc3})` : `ATC ${c.atc3}`;
}

/** A suggestion as the order it proposes: "Famotidine (A02B)", or the class when it has no product. */
function orderName(c: ClassRecommendation): string {
  return c.product?.coding.display ? `${c.product.coding.display} (${c.atc3})` : shortName(c);
}

function shortName(c: ClassRecommendation): string {
  return c.name ? `${c.name} (${c.atc3})` : c.atc3;
}

function sideShort(s: InteractionSide): string {
  return `${s.drug} (${s.role})`;
}

function sideLong(s: InteractionSide): string {
  return `${s.drug} (${s.role}; ${s.className ? `${s.className}, ` : ''}${s.atc3})`;
}

function percent(p: number): string {
  return `${Math.round(p * 100)}%`;
}

function signedPoints(effect: number): string {
  const pts = Math.round(effect * 1000) / 10;
  return `${pts >= 0 ? '+' : '−'}${Math.abs(pts)} pts`;
}
