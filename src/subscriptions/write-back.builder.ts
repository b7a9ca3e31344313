import type { Annotation, Bundle, BundleEntry, DetectedIssue, GuidanceResponse, MedicationRequest, Reference, RequestGroup, RequestGroupAction } from 'fhir/r4';
import { sha256Hex } from '../common/sha256';
import type { DrugInteraction, InteractionSide } from '../recommend/recommendation.types';
import type { CdsCard, CdsIndicator } from '../cds-hooks/cds-hooks.types';

/** Every identifier this service writes lives under this prefix: a notification about one of them is our own echo. */
export const WRITE_BACK_SYSTEM_PREFIX = 'http://leader-cds.org/fhir/identifier/';
export const SYSTEMS = {
  requestGroup: `${WRITE_BACK_SYSTEM_PREFIX}request-group`,
  guidanceResponse: `${WRITE_BACK_SYSTEM_PREFIX}guidance-response`,
  notificationEvent: `${WRITE_BACK_SYSTEM_PREFIX}notification-event`,
  proposal: `${WRITE_BACK_SYSTEM_PREFIX}proposal`,
  detectedIssue: `${WRITE_BACK_SYSTEM_PREFIX}detected-issue`,
} as const;
/** The model as a canonical: `{MODEL_CANONICAL_BASE}{name}|{version}`. */
export const MODEL_CANONICAL_BASE = 'http://leader-cds.org/fhir/model/';

export interface WriteBackInput {
  /** Deterministic per processed event (registration and event key): every identifier derives from it. */
  eventId: string;
  patientId: string;
  encounterId?: string;
  /** The cards the hook would answer (CdsHooksService.cardsFor, order-select). */
  cards: CdsCard[];
  /** The recommendation's interacting pairs (RecommendationResult.interactions). */
  interactions: DrugInteraction[];
  model: { name: string; version: string };
  authoredOn: string;
  /** Active RequestGroups of ours for the same encounter (or patient): revoked by this write-back. */
  supersede: RequestGroup[];
  /** What triggered it, e.g. `Condition/12 (event 4)`. */
  reason: string;
}

const PRIORITY: Record<CdsIndicator, RequestGroupAction['priority']> = { info: 'routine', warning: 'urgent', critical: 'stat' };

/**
 * The write-back of one processed event, as one FHIR transaction, following the CDS Hooks ↔ Clinical
 * Reasoning mapping: a RequestGroup (status active, intent proposal; one action per card that proposes
 * orders, one nested action per suggestion whose `resource` is a draft/proposal MedicationRequest of the card's product),
 * a GuidanceResponse (module = the model, requestIdentifier = the event, result = the RequestGroup), a
 * DetectedIssue per interacting pair that involves a suggested class, and the earlier active
 * RequestGroups revoked.
 *
 * Idempotent by deterministic ids: every resource's id and identifier derive from `eventId`, and each is
 * written with PUT, so a repeated event rewrites the same resources and never adds one. Not conditional
 * creates (`ifNoneExist`): Medplum's FHIR router (the local EHR's, and Medplum's server) runs a
 * transaction with any conditional entry under strict isolation and refuses it beyond 8 entries, which a
 * recommendation with its proposals, interactions and revocations exceeds.
 */
export function writeBackTransaction(input: WriteBackInput): Bundle {
  const idOf = (role: string) => uuidOf(`${input.eventId}|${role}`);
  const subject: Reference = { reference: `Patient/${input.patientId}` };
  const encounter: Reference | undefined = input.encounterId ? { reference: `Encounter/${input.encounterId}` } : undefined;
  const author = { display: `${input.model.name} ${input.model.version} (leader-cds)` };
  const entries: BundleEntry[] = [];
  const proposalOf = new Map<string, string>();

  const actions: RequestGroupAction[] = [];
  // R4 rqg-1: an action holds a resource or sub-actions. A card with nothing to order (interactions only,
  // deceased, no product) is kept whole as a note of the RequestGroup instead.
  const notes: Annotation[] = [];
  input.cards.forEach((card, c) => {
    const nested: RequestGroupAction[] = (card.suggestions ?? []).flatMap((s) => (s.actions ?? []).flatMap((a) => {
      const r = a.resource as MedicationRequest | undefined;
      const atc3 = r?.medicationCodeableConcept?.coding?.find((x) => x.system?.includes('atc'))?.code ?? `suggestion-${c}`;
      if (a.type !== 'create' || r?.resourceType !== 'MedicationRequest' || proposalOf.has(atc3)) return [];
      const id = idOf(`proposal|${atc3}`);
      const value = `${input.eventId}/${atc3}`;
      const proposal: MedicationRequest = {
        ...r,
        id,
        identifier: [{ system: SYSTEMS.proposal, value }],
        status: 'draft',
        intent: 'proposal',
        subject,
        ...(encounter ? { encounter } : {}),
        authoredOn: input.authoredOn,
        note: [{ text: 'Proposed by the leader-cds model after a chart change; no dose is proposed: set dose, route and frequency before ordering.' }],
      };
      entries.push(idempotentWrite(proposal));
      proposalOf.set(atc3, `MedicationRequest/${id}`);
      return [{ title: s.label, ...(a.description ? { description: a.description } : {}), type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/action-type', code: 'create' }] }, resource: { reference: `MedicationRequest/${id}` } }];
    }));
    if (nested.length === 0) {
      notes.push({ authorString: card.source.label, time: input.authoredOn, text: `**${card.summary}** (${card.indicator})${card.detail ? `\n\n${card.detail}` : ''}` });
      return;
    }
    actions.push({
      title: card.summary,
      ...(card.detail ? { description: card.detail } : {}),
      priority: PRIORITY[card.indicator],
      documentation: [{ type: 'documentation', display: card.source.label, ...(card.source.url ? { url: card.source.url } : {}) }],
      selectionBehavior: card.selectionBehavior === 'at-most-one' ? 'at-most-one' : 'any',
      action: nested,
    });
  });

  const requestGroupId = idOf('request-group');
  const requestGroup: RequestGroup = {
    resourceType: 'RequestGroup',
    id: requestGroupId,
    identifier: [{ system: SYSTEMS.requestGroup, value: input.eventId }],
    status: 'active',
    intent: 'proposal',
    subject,
    ...(encounter ? { encounter } : {}),
    authoredOn: input.authoredOn,
    author,
    reasonCode: [{ text: `Chart change: ${input.reason}` }],
    ...(actions.length > 0 ? { action: actions } : {}),
    ...(notes.length > 0 ? { note: notes } : {}),
  };
  const guidance: GuidanceResponse = {
    resourceType: 'GuidanceResponse',
    id: idOf('guidance-response'),
    identifier: [{ system: SYSTEMS.guidanceResponse, value: input.eventId }],
    requestIdentifier: { system: SYSTEMS.notificationEvent, value: input.eventId },
    moduleCanonical: `${MODEL_CANONICAL_BASE}${encodeURIComponent(input.model.name)}|${input.model.version}`,
    status: 'success',
    subject,
    ...(encounter ? { encounter } : {}),
    occurrenceDateTime: input.authoredOn,
    reasonCode: [{ text: `Chart change: ${input.reason}` }],
    result: { reference: `RequestGroup/${requestGroupId}` },
  };
  // One DetectedIssue per interacting class pair (the matrix is class-level); every drug pair of it is implicated.
  const byPair = new Map<string, DrugInteraction[]>();
  for (const i of input.interactions.filter((x) => x.a.role === 'suggested' || x.b.role === 'suggested')) {
    const pair = [i.a.atc3, i.b.atc3].sort().join('+');
    byPair.set(pair, [...(byPair.get(pair) ?? []), i]);
  }
  const issues = [...byPair].map(([pair, pairs]): BundleEntry => {
    const implicated = new Map<string, Reference>();
    for (const i of pairs) for (const side of [i.a, i.b]) implicated.set(sideText(side), sideReference(side, proposalOf));
    const issue: DetectedIssue = {
      resourceType: 'DetectedIssue',
      id: idOf(`detected-issue|${pair}`),
      identifier: [{ system: SYSTEMS.detectedIssue, value: `${input.eventId}/${pair}` }],
      status: 'preliminary',
      code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'DRG', display: 'Drug Interaction Alert' }], text: 'Drug-drug interaction' },
      // The model's matrix is class-level (TWOSIDES-derived) and carries no severity grade.
      severity: 'moderate',
      patient: subject,
      identifiedDateTime: input.authoredOn,
      author: { display: author.display },
      implicated: [...implicated.values()],
      detail: `Class-level interaction (the model's TWOSIDES-derived matrix): ${pairs.map((i) => `${sideText(i.a)} with ${sideText(i.b)}`).join('; ')}. Review the specific drugs and doses before ordering.`,
    };
    return idempotentWrite(issue);
  });
  const revoked = input.supersede.map((rg) => idempotentWrite({ ...rg, status: 'revoked' } as RequestGroup & { id: string }));
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      idempotentWrite(requestGroup),
      ...entries,
      idempotentWrite(guidance),
      ...issues,
      ...revoked,
    ],
  };
}

/** Entries per clean-up transaction: Medplum's router refuses a transaction of more than 50 updates. */
export const RETIRE_BATCH = 40;

/**
 * The proposals and DetectedIssues of revoked recommendations, cancelled: a revoked RequestGroup must
 * not leave draft orders or open alerts in the chart. Each of ours carries an identifier
 * `<event>/<class or class pair>` under its event, and a revoked RequestGroup names its event. Returns
 * transactions of at most RETIRE_BATCH PUTs (none when nothing is stale); repeating them changes nothing.
 */
export function retireTransactions(revoked: readonly RequestGroup[], proposals: readonly MedicationRequest[], issues: readonly DetectedIssue[]): Bundle[] {
  const revokedEvents = new Set(revoked.flatMap((rg) => (rg.identifier ?? []).filter((i) => i.system === SYSTEMS.requestGroup && i.value).map((i) => i.value!)));
  const ofRevokedEvent = (identifiers: readonly { system?: string; value?: string }[] | undefined, system: string) =>
    (identifiers ?? []).some((i) => i.system === system && i.value !== undefined && revokedEvents.has(i.value.slice(0, i.value.lastIndexOf('/'))));
  const stale: (MedicationRequest | DetectedIssue)[] = [
    ...proposals.filter((mr) => mr.status === 'draft' && ofRevokedEvent(mr.identifier, SYSTEMS.proposal)).map((mr): MedicationRequest => ({ ...mr, status: 'cancelled' })),
    ...issues.filter((d) => d.status !== 'cancelled' && ofRevokedEvent(d.identifier, SYSTEMS.detectedIssue)).map((d): DetectedIssue => ({ ...d, status: 'cancelled' })),
  ];
  const out: Bundle[] = [];
  for (let i = 0; i < stale.length; i += RETIRE_BATCH) {
    out.push({ resourceType: 'Bundle', type: 'transaction', entry: stale.slice(i, i + RETIRE_BATCH).map(idempotentWrite) });
  }
  return out;
}

/** PUT to the id derived from the event: sending the same event's transaction again rewrites the same resources, never adds one. */
function idempotentWrite(resource: RequestGroup | MedicationRequest | GuidanceResponse | DetectedIssue): BundleEntry {
  return { resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } };
}

function sideReference(side: InteractionSide, proposals: Map<string, string>): Reference {
  if (side.role === 'suggested' && proposals.has(side.atc3)) return { reference: proposals.get(side.atc3), display: sideText(side) };
  if (side.orderRef) return { reference: side.orderRef, display: sideText(side) };
  return { display: sideText(side) };
}

function sideText(side: InteractionSide): string {
  return `${side.drug} (${side.className ? `${side.className}, ` : ''}ATC ${side.atc3}; ${side.role})`;
}

/** A UUID-shaped name derived from text (stable resource ids and hookInstance: the same event builds the same Bundle). */
export function uuidOf(text: string): string {
  const h = sha256Hex(text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
