import type { Bundle, BundleEntry, Parameters, ParametersParameter, Reference, Resource } from 'fhir/r4';
import { isRecord } from '../common/is-record';

import { PATIENT_CHART_TYPES } from '../fhir/subscriptions-backport';

/** The resource types whose changes trigger a recommendation (the topic's and the classic criteria's). */
export const TRIGGER_TYPES = PATIENT_CHART_TYPES;

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';
const NOTIFICATION_TYPES: readonly string[] = ['handshake', 'heartbeat', 'event-notification', 'query-status', 'query-event'];

/** One change the subscriber must act on, keyed for dedupe. */
export interface NotificationEvent {
  /** `event-<n>` (topic-based) or `<Type>/<id>/_history/<versionId>` (classic): unique per registration. */
  key: string;
  eventNumber?: number;
  /** `Type/id` of the changed resource, when the notification names it. */
  focus?: string;
  /** `Patient/id`, when the notification names it (additional-context, or the resource itself). */
  patient?: string;
}

/** A Backport IG notification (R4 Parameters or R4B SubscriptionStatus first entry). */
export interface TopicNotification {
  kind: 'topic';
  type: NotificationType;
  /** The Subscription's id (the last segment of its reference). */
  subscriptionId?: string;
  status?: string;
  /** events-since-subscription-start: the server's count of events so far. */
  eventsSinceStart?: number;
  events: NotificationEvent[];
}

/** Classic R4 rest-hook: the resource itself (HAPI's PUT `{endpoint}/{Type}/{id}`, or a POST of it). */
export interface ClassicResourceNotification {
  kind: 'classic-resource';
  events: NotificationEvent[];
}

/** Classic R4 rest-hook without payload: an empty POST ("something matching changed"); the subscriber re-queries. */
export interface ClassicPingNotification {
  kind: 'classic-ping';
  events: [];
}

export type Notification = TopicNotification | ClassicResourceNotification | ClassicPingNotification;

/** What the sender got wrong, said in one line (answered 400 with an OperationOutcome). */
export class NotificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotificationError';
  }
}

/**
 * A notification body as the subscriber receives it. `path`: the `{Type}/{id}` after the endpoint
 * (classic PUT), if any. Accepts the Backport IG's history Bundle (also HAPI's transaction POST of it,
 * and R4B's SubscriptionStatus), a classic PUT/POST of the resource, and a classic empty POST.
 */
export function parseNotification(body: unknown, path?: { type: string; id: string }): Notification {
  if (path !== undefined) return classicResource(body, path);
  if (body === undefined || body === null || (isRecord(body) && Object.keys(body).length === 0) || body === '') return { kind: 'classic-ping', events: [] };
  if (!isRecord(body) || typeof body.resourceType !== 'string') throw new NotificationError('the body is not a FHIR resource (no resourceType)');
  if (body.resourceType === 'Bundle') return topicNotification(body as unknown as Bundle);
  return classicResource(body, undefined);
}

function classicResource(body: unknown, path: { type: string; id: string } | undefined): ClassicResourceNotification {
  if (!isRecord(body) || typeof body.resourceType !== 'string') throw new NotificationError('a classic rest-hook PUT must carry the resource (application/fhir+json)');
  const resource = body as unknown as Resource;
  const type = resource.resourceType;
  if (path && type !== path.type) throw new NotificationError(`the URL names ${path.type}/${path.id} but the body is a ${type}`);
  const id = resource.id ?? path?.id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw new NotificationError(`${type}.id is missing or not a FHIR id`);
  if (path && id !== path.id) throw new NotificationError(`the URL names ${path.type}/${path.id} but the body's id is ${id}`);
  if (!(TRIGGER_TYPES as readonly string[]).includes(type)) throw new NotificationError(`${type} is not a type this subscriber acts on (${TRIGGER_TYPES.join(', ')})`);
  // Without a versionId the change is keyed by lastUpdated (servers send one or the other).
  const version = resource.meta?.versionId ?? resource.meta?.lastUpdated;
  if (typeof version !== 'string' || version === '') throw new NotificationError(`${type}/${id}: meta.versionId (or meta.lastUpdated) is required to recognise a repeated delivery`);
  const patient = patientOf(resource);
  return { kind: 'classic-resource', events: [{ key: `${type}/${id}/_history/${version}`, focus: `${type}/${id}`, ...(patient ? { patient } : {}) }] };
}

function topicNotification(bundle: Bundle): TopicNotification {
  if (bundle.type !== 'history' && bundle.type !== 'transaction' && bundle.type !== 'collection' && bundle.type !== 'searchset') {
    throw new NotificationError(`Bundle.type ${String(bundle.type)}: a notification is a history Bundle`);
  }
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  const first = entries[0]?.resource;
  if (!isRecord(first)) throw new NotificationError('Bundle.entry[0] must hold the subscription status (Parameters or SubscriptionStatus)');
  const status = first.resourceType === 'Parameters' ? statusFromParameters(first as unknown as Parameters)
    : first.resourceType === 'SubscriptionStatus' ? statusFromSubscriptionStatus(first)
      : undefined;
  if (!status) throw new NotificationError(`Bundle.entry[0] is a ${String(first.resourceType)}, not the subscription status (Parameters or SubscriptionStatus)`);
  const rest = entries.slice(1);
  const events = status.events.map((e) => withPatientFromEntries(e, rest));
  if ((status.type === 'event-notification' || status.type === 'query-event') && events.length === 0) {
    throw new NotificationError(`a ${status.type} must carry at least one notification-event with an event-number`);
  }
  return { kind: 'topic', ...status, events };
}

interface RawEvent {
  eventNumber: number;
  focus?: string;
  context: string[];
}

function statusFromParameters(p: Parameters): Omit<TopicNotification, 'kind'> {
  const params = Array.isArray(p.parameter) ? p.parameter : [];
  const one = (name: string) => params.find((x) => x?.name === name);
  const type = codeOf(one('type'), 'type');
  const raw: RawEvent[] = params.filter((x) => x?.name === 'notification-event').map((x, i) => {
    const parts = Array.isArray(x.part) ? x.part : [];
    const part = (name: string) => parts.filter((q) => q?.name === name);
    const n = countOf(part('event-number')[0], `notification-event[${i}].event-number`);
    if (n === undefined) throw new NotificationError(`notification-event[${i}] has no event-number`);
    const focus = part('focus')[0]?.valueReference;
    return { eventNumber: n, ...(focus ? { focus: referenceOf(focus, `notification-event[${i}].focus`) } : {}), context: part('additional-context').map((q, j) => referenceOf(q.valueReference, `notification-event[${i}].additional-context[${j}]`)) };
  });
  const since = countOf(one('events-since-subscription-start'), 'events-since-subscription-start');
  const subscription = one('subscription')?.valueReference;
  return {
    type,
    ...(subscription ? { subscriptionId: lastSegment(referenceOf(subscription, 'subscription')) } : {}),
    ...(one('status')?.valueCode ? { status: one('status')!.valueCode } : {}),
    ...(since !== undefined ? { eventsSinceStart: since } : {}),
    events: raw.map(eventOf),
  };
}

/** R4B's SubscriptionStatus (not in the R4 types: read as a plain record). */
function statusFromSubscriptionStatus(s: Record<string, unknown>): Omit<TopicNotification, 'kind'> {
  const type = s.type;
  if (typeof type !== 'string' || !NOTIFICATION_TYPES.includes(type)) throw new NotificationError(`SubscriptionStatus.type ${JSON.stringify(type)} is not one of ${NOTIFICATION_TYPES.join(', ')}`);
  const since = integerOf(s.eventsSinceSubscriptionStart, 'SubscriptionStatus.eventsSinceSubscriptionStart');
  const raw: RawEvent[] = (Array.isArray(s.notificationEvent) ? s.notificationEvent : []).map((e: unknown, i: number) => {
    const ev = isRecord(e) ? e : {};
    const n = integerOf(ev.eventNumber, `notificationEvent[${i}].eventNumber`);
    if (n === undefined) throw new NotificationError(`notificationEvent[${i}] has no eventNumber`);
    const focus = ev.focus as Reference | undefined;
    const context = Array.isArray(ev.additionalContext) ? (ev.additionalContext as Reference[]) : [];
    return { eventNumber: n, ...(focus ? { focus: referenceOf(focus, `notificationEvent[${i}].focus`) } : {}), context: context.map((r, j) => referenceOf(r, `notificationEvent[${i}].additionalContext[${j}]`)) };
  });
  const subscription = s.subscription as Reference | undefined;
  return {
    type: type as NotificationType,
    ...(subscription ? { subscriptionId: lastSegment(referenceOf(subscription, 'SubscriptionStatus.subscription')) } : {}),
    ...(typeof s.status === 'string' ? { status: s.status } : {}),
    ...(since !== undefined ? { eventsSinceStart: since } : {}),
    events: raw.map(eventOf),
  };
}

function eventOf(e: RawEvent): NotificationEvent {
  const patient = e.context.find((r) => /(^|\/)Patient\/[^/]+$/.test(r));
  return {
    key: `event-${e.eventNumber}`,
    eventNumber: e.eventNumber,
    ...(e.focus ? { focus: typeAndId(e.focus) } : {}),
    ...(patient ? { patient: typeAndId(patient) } : {}),
  };
}

/** full-resource payloads: the patient named by the focus resource itself, when additional-context did not. */
function withPatientFromEntries(e: NotificationEvent, entries: BundleEntry[]): NotificationEvent {
  if (e.patient || !e.focus) return e;
  const entry = entries.find((x) => isRecord(x?.resource) && `${x.resource.resourceType}/${x.resource.id}` === e.focus);
  const patient = entry?.resource ? patientOf(entry.resource) : undefined;
  return patient ? { ...e, patient } : e;
}

/** `Patient/id` a resource belongs to (Encounter/Condition/Procedure/MedicationRequest.subject, or the Patient itself). */
export function patientOf(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient' && resource.id) return `Patient/${resource.id}`;
  const subject = (resource as { subject?: Reference }).subject?.reference ?? (resource as { patient?: Reference }).patient?.reference;
  if (typeof subject !== 'string') return undefined;
  const ref = typeAndId(subject);
  return ref.startsWith('Patient/') ? ref : undefined;
}

/** `Type/id` of a relative or absolute reference (a version suffix dropped). */
export function typeAndId(reference: string): string {
  const m = /([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?\/?$/.exec(reference);
  return m ? `${m[1]}/${m[2]}` : reference;
}

function lastSegment(reference: string): string {
  return typeAndId(reference).split('/').pop() ?? reference;
}

function referenceOf(value: Reference | undefined, where: string): string {
  const ref = value?.reference;
  if (typeof ref !== 'string' || ref === '') throw new NotificationError(`${where} must be a Reference with a reference`);
  return ref;
}

function codeOf(p: ParametersParameter | undefined, where: string): NotificationType {
  const code = p?.valueCode ?? p?.valueString;
  if (typeof code !== 'string' || !NOTIFICATION_TYPES.includes(code)) throw new NotificationError(`${where} ${JSON.stringify(code)} is not one of ${NOTIFICATION_TYPES.join(', ')}`);
  return code as NotificationType;
}

/** The Backport IG sends counts as valueString in R4 (int64 has no R4 type); integers are accepted too. */
function countOf(p: ParametersParameter | undefined, where: string): number | undefined {
  if (p === undefined) return undefined;
  return integerOf(p.valueString ?? p.valueInteger ?? p.valueUnsignedInt ?? p.valuePositiveInt ?? p.valueDecimal, where);
}

function integerOf(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new NotificationError(`${where} ${JSON.stringify(v)} is not a non-negative integer`);
  return n;
}
