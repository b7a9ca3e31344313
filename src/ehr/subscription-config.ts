import { getResourceTypes, getSearchParameter, matchesSearchRequest, parseSearchRequest, type SearchRequest } from '@medplum/core';
import type { Extension, Resource, Subscription } from '@medplum/fhirtypes';
import { BACKPORT_URLS, MEDPLUM_SECRET_URL, PATIENT_CHART_TOPIC, PATIENT_CHART_TYPES } from '../fhir/subscriptions-backport';

// The one topic `leader ehr` offers (see `topicMatches`) and the IG's URLs: the contract the subscriber shares.
export { BACKPORT_URLS, MEDPLUM_SECRET_URL, PATIENT_CHART_TOPIC };

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';
const PAYLOAD_CONTENTS: ReadonlySet<string> = new Set(['empty', 'id-only', 'full-resource']);
const TOPIC_TYPES: ReadonlySet<string> = new Set(PATIENT_CHART_TYPES);
/** How long one delivery may take when the Subscription sets no `backport-timeout`. */
const DEFAULT_TIMEOUT_S = 10;

/** Backport R4 topic-based: the topic's events, optionally of some patients only. */
export interface TopicChannel {
  kind: 'topic';
  /** `channel.payload`: the notifications' Content-Type. */
  mime: string;
  content: PayloadContent;
  /** Patient ids of the `patient=` filters; undefined: every patient. */
  patients?: ReadonlySet<string>;
  heartbeatMs?: number;
  /** Most events in one notification (`backport-max-count`, default 1). */
  maxCount: number;
}

/** Classic R4 (HAPI semantics): `criteria` is a search matched against each new version. */
export interface ClassicChannel {
  kind: 'classic';
  search: SearchRequest;
  /** `channel.payload` set: PUT `{endpoint}/{Type}/{id}` with the resource; otherwise an empty POST. */
  payload: boolean;
}

/** What a stored Subscription asks this server to do. */
export interface SubscriptionConfig {
  endpoint: string;
  /** `channel.header` split at the first colon. */
  headers: [string, string][];
  secret?: string;
  timeoutMs: number;
  /** `Subscription.end` in epoch ms. */
  endMs?: number;
  channel: TopicChannel | ClassicChannel;
}

/** The config of a Subscription, or the one problem that makes it unusable here (a 400's text). */
export function readSubscription(sub: Subscription): SubscriptionConfig | string {
  const channel = sub.channel;
  if (channel?.type !== 'rest-hook') return `Subscription.channel.type ${String(channel?.type)}: only rest-hook is delivered by this EHR`;
  if (typeof channel.endpoint !== 'string' || !/^https?:\/\/[^\s/]+/.test(channel.endpoint) || !URL.canParse(channel.endpoint)) {
    return `Subscription.channel.endpoint ${String(channel.endpoint)}: expected an http(s) URL`;
  }
  const headers: [string, string][] = [];
  for (const [i, header] of (channel.header ?? []).entries()) {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(header);
    if (!m || /[\r\n]/.test(m[2])) return `Subscription.channel.header[${i}]: expected "Name: value"`;
    headers.push([m[1], m[2]]);
  }
  const secret = extension(sub.extension, MEDPLUM_SECRET_URL)?.valueString;
  const timeout = extension(channel.extension, BACKPORT_URLS.timeout)?.valueUnsignedInt;
  const endMs = sub.end ? Date.parse(sub.end) : undefined;
  const base = { endpoint: channel.endpoint, headers, secret, timeoutMs: (timeout && timeout > 0 ? timeout : DEFAULT_TIMEOUT_S) * 1000, endMs };
  const criteria = sub.criteria ?? '';
  if (/^https?:\/\//.test(criteria)) {
    if (criteria !== PATIENT_CHART_TOPIC) return `Subscription.criteria ${criteria}: unknown topic (this EHR offers ${PATIENT_CHART_TOPIC})`;
    const topic = readTopicChannel(sub);
    return typeof topic === 'string' ? topic : { ...base, channel: topic };
  }
  const type = criteria.split('?')[0];
  if (!(getResourceTypes() as string[]).includes(type)) return `Subscription.criteria ${criteria}: expected a topic canonical or a search such as Encounter?status=finished`;
  let search: SearchRequest;
  try {
    search = parseSearchRequest(criteria);
  } catch (e) {
    return `Subscription.criteria ${criteria}: ${(e as Error).message}`;
  }
  // Medplum's matching skips a parameter it does not know: refuse it here rather than match everything.
  const unknown = (search.filters ?? []).find((f) => !getSearchParameter(type, f.code.split(':')[0]));
  if (unknown) return `Subscription.criteria ${criteria}: ${unknown.code} is not a search parameter of ${type}`;
  if (search.count !== undefined || search.sortRules?.length || search.include?.length) return `Subscription.criteria ${criteria}: only search parameters (no _count, _sort or _include) select events`;
  return { ...base, channel: { kind: 'classic', search, payload: channel.payload !== undefined } };
}

function readTopicChannel(sub: Subscription): TopicChannel | string {
  const channel = sub.channel;
  if (channel.payload !== 'application/fhir+json' && channel.payload !== 'application/json') {
    return `Subscription.channel.payload ${String(channel.payload)}: expected application/fhir+json`;
  }
  const primitive = (channel as { _payload?: { extension?: Extension[] } })._payload;
  const content = extension(primitive?.extension, BACKPORT_URLS.payloadContent)?.valueCode;
  if (!content || !PAYLOAD_CONTENTS.has(content)) return `Subscription.channel.payload extension ${BACKPORT_URLS.payloadContent}: expected empty, id-only or full-resource`;
  let patients: Set<string> | undefined;
  const filters = ((sub as { _criteria?: { extension?: Extension[] } })._criteria?.extension ?? []).filter((e) => e.url === BACKPORT_URLS.filterCriteria);
  for (const filter of filters) {
    // The IG's examples prefix a type (`Encounter?patient=…`); here a patient filter covers every type of the topic.
    const m = /^(?:(?:Encounter|Condition|Procedure|MedicationRequest)\?)?patient=(?:Patient\/)?([A-Za-z0-9\-.]{1,64})$/.exec(filter.valueString ?? '');
    if (!m) return `Subscription.criteria filter ${String(filter.valueString)}: this topic filters only by patient=Patient/{id}`;
    (patients ??= new Set()).add(m[1]);
  }
  const heartbeat = extension(channel.extension, BACKPORT_URLS.heartbeatPeriod)?.valueUnsignedInt;
  const maxCount = extension(channel.extension, BACKPORT_URLS.maxCount)?.valuePositiveInt ?? extension(channel.extension, BACKPORT_URLS.maxCount)?.valueUnsignedInt;
  return {
    kind: 'topic', mime: channel.payload, content: content as PayloadContent, patients,
    heartbeatMs: heartbeat && heartbeat > 0 ? heartbeat * 1000 : undefined,
    maxCount: maxCount && maxCount > 0 ? maxCount : 1,
  };
}

/** The Patient id a resource belongs to (its `subject` or `patient`), if any. */
export function patientOf(resource: Resource): string | undefined {
  const ref = (resource as { subject?: { reference?: string }; patient?: { reference?: string } }).subject?.reference
    ?? (resource as { patient?: { reference?: string } }).patient?.reference;
  return ref ? /(?:^|\/)Patient\/([^/]+)$/.exec(ref)?.[1] : undefined;
}

/**
 * Whether a new version of `resource` is an event of the patient-chart-change topic: a created or
 * updated Encounter, Condition, Procedure or MedicationRequest. MedicationRequests with intent
 * `proposal` are not: the subscriber writes its recommendations back as draft proposals, and they
 * must not trigger another recommendation.
 */
export function topicMatches(resource: Resource): boolean {
  if (!TOPIC_TYPES.has(resource.resourceType)) return false;
  return resource.resourceType !== 'MedicationRequest' || resource.intent !== 'proposal';
}

/** Whether `resource`'s new version is an event for this Subscription. */
export function subscriptionMatches(config: SubscriptionConfig, resource: Resource): boolean {
  const channel = config.channel;
  if (channel.kind === 'classic') return channel.search.resourceType === resource.resourceType && matchesSearchRequest(resource, channel.search);
  if (!topicMatches(resource)) return false;
  if (!channel.patients) return true;
  const patient = patientOf(resource);
  return patient !== undefined && channel.patients.has(patient);
}

function extension(list: Extension[] | undefined, url: string): Extension | undefined {
  return list?.find((e) => e.url === url);
}
