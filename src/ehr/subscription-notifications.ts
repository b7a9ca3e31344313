import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource, Subscription } from '@medplum/fhirtypes';
import { BACKPORT_URLS, type PayloadContent } from './subscription-config';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

/** One event of a Subscription: a new version of a resource that matched it. */
export interface SubscriptionEvent {
  /** 1, 2, 3 … per Subscription. */
  number: number;
  timestamp: string;
  /** The version written (sent as the full-resource payload). */
  resource: Resource & { id: string };
  /** Whether this version created the resource (POST) or updated it (PUT). */
  created: boolean;
  patient?: string;
}

export interface NotificationInput {
  fhirBase: string;
  subscriptionId: string;
  topic: string;
  status: NonNullable<Subscription['status']>;
  type: NotificationType;
  eventsSinceStart: number;
  events: readonly SubscriptionEvent[];
  content: PayloadContent;
  error?: string;
}

/**
 * A Backport IG R4 notification (`Bundle.type = history`, profile backport-subscription-notification-r4):
 * entry[0] the status `Parameters` (backport-subscription-status-r4) with `request` GET
 * `Subscription/{id}/$status`; then, per the IG's payloads page, nothing for `empty`, one entry per
 * focus with `fullUrl` and `request` only for `id-only`, and the same with the resource for
 * `full-resource`. References are absolute URLs on this server, as the IG's examples write them.
 */
export function notificationBundle(input: NotificationInput): Bundle {
  const statusId = randomUUID();
  const entries: BundleEntry[] = [{
    fullUrl: `urn:uuid:${statusId}`,
    resource: statusParameters(input, statusId),
    request: { method: 'GET', url: `Subscription/${input.subscriptionId}/$status` },
    response: { status: '200' },
  }];
  if (input.content !== 'empty') {
    const seen = new Set<string>();
    for (const event of input.events) {
      const { resourceType, id } = event.resource;
      const key = `${resourceType}/${id}/${event.resource.meta?.versionId ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      entries.push({
        fullUrl: `${input.fhirBase}/${resourceType}/${id}`,
        ...(input.content === 'full-resource' ? { resource: event.resource } : {}),
        request: event.created ? { method: 'POST', url: resourceType } : { method: 'PUT', url: `${resourceType}/${id}` },
        response: { status: event.created ? '201' : '200' },
      });
    }
  }
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { profile: [BACKPORT_URLS.notificationProfile] },
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: entries,
  };
}

/** The backport-subscription-status-r4 `Parameters` that opens every notification. */
export function statusParameters(input: NotificationInput, id: string = randomUUID()): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${input.fhirBase}/Subscription/${input.subscriptionId}` } },
    { name: 'topic', valueCanonical: input.topic },
    { name: 'status', valueCode: input.status },
    { name: 'type', valueCode: input.type },
    // R4 has no integer64: the IG sends event counts as strings.
    { name: 'events-since-subscription-start', valueString: String(input.eventsSinceStart) },
  ];
  for (const event of input.events) {
    const part: ParametersParameter[] = [
      { name: 'event-number', valueString: String(event.number) },
      { name: 'timestamp', valueInstant: event.timestamp },
    ];
    if (input.content !== 'empty') {
      part.push({ name: 'focus', valueReference: { reference: `${input.fhirBase}/${event.resource.resourceType}/${event.resource.id}` } });
      if (event.patient) part.push({ name: 'additional-context', valueReference: { reference: `${input.fhirBase}/Patient/${event.patient}` } });
    }
    parameter.push({ name: 'notification-event', part });
  }
  if (input.error) parameter.push({ name: 'error', valueCodeableConcept: { text: input.error } });
  return { resourceType: 'Parameters', id, meta: { profile: [BACKPORT_URLS.statusProfile] }, parameter };
}
