import type { CapabilityStatement, Extension, Subscription } from 'fhir/r4';
import { BACKPORT_URLS, MEDPLUM_SECRET_URL, PATIENT_CHART_TOPIC } from '../fhir/subscriptions-backport';
import { TRIGGER_TYPES } from './notification.parser';
import { NOTIFICATIONS_ROUTE } from './notification-origin';
import type { Registration } from './subscription.store';

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

/** MedicationRequest intents other than `proposal`: criteria and prefetch leave proposals (ours among them) out. */
export const ORDER_INTENTS = 'order,original-order,reflex-order,filler-order,instance-order,plan,option';

/** The classic criteria `leader subscribe --classic` registers, one Subscription each (optionally for one patient). */
export function classicCriteria(patientId?: string): string[] {
  const patient = patientId ? `patient=Patient/${patientId}` : '';
  return TRIGGER_TYPES.map((t) => {
    const params = [patient, t === 'MedicationRequest' ? `intent=${ORDER_INTENTS}` : ''].filter((p) => p !== '');
    return `${t}?${params.join('&')}`;
  });
}

/** Where the FHIR server delivers this registration's notifications. */
export function endpointOf(serviceBase: string, registrationId: string): string {
  return `${serviceBase.replace(/\/+$/, '')}/${NOTIFICATIONS_ROUTE}/${registrationId}`;
}

/**
 * The Subscription resource for a registration: Backport IG R4 topic-based (`criteria` = the topic,
 * payload content, heartbeat, optional patient filter) or classic R4 (`criteria` a search; payload
 * `application/fhir+json` = HAPI PUTs the resource, none = an empty POST). The secret travels as a
 * channel header (`Authorization: Bearer …`, HAPI and the Backport IG send it as an HTTP header) and,
 * for classic, also as Medplum's subscription-secret (Medplum signs deliveries with it instead).
 */
export function subscriptionResource(reg: Registration, serviceBase: string, opts: { payload: PayloadContent }): Subscription {
  const channelBase = {
    type: 'rest-hook' as const,
    endpoint: endpointOf(serviceBase, reg.id),
    header: [`Authorization: Bearer ${reg.secret}`],
  };
  if (reg.kind === 'classic') {
    return {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'leader-cds: recommend medication classes when the chart changes',
      criteria: reg.criteria,
      channel: { ...channelBase, ...(opts.payload === 'empty' ? {} : { payload: 'application/fhir+json' }) },
      extension: [{ url: MEDPLUM_SECRET_URL, valueString: reg.secret }],
    };
  }
  const channelExtension: Extension[] = reg.heartbeatSeconds ? [{ url: BACKPORT_URLS.heartbeatPeriod, valueUnsignedInt: reg.heartbeatSeconds }] : [];
  return {
    resourceType: 'Subscription',
    meta: { profile: [BACKPORT_URLS.subscriptionProfile] },
    status: 'requested',
    reason: 'leader-cds: recommend medication classes when the chart changes',
    criteria: reg.criteria,
    ...(reg.patientFilter ? { _criteria: { extension: [{ url: BACKPORT_URLS.filterCriteria, valueString: `patient=${reg.patientFilter}` }] } } : {}),
    channel: {
      ...channelBase,
      ...(channelExtension.length > 0 ? { extension: channelExtension } : {}),
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: BACKPORT_URLS.payloadContent, valueCode: opts.payload }] },
    },
  } as Subscription;
}

/** Whether a CapabilityStatement advertises the topic (Backport IG: an extension on the Subscription resource entry, or anywhere in rest). */
export function advertisesTopic(cs: CapabilityStatement, topic = PATIENT_CHART_TOPIC): boolean {
  const found = (value: unknown): boolean => {
    if (Array.isArray(value)) return value.some(found);
    if (value === null || typeof value !== 'object') return false;
    const v = value as Record<string, unknown>;
    if (v.url === BACKPORT_URLS.topicCanonical && v.valueCanonical === topic) return true;
    return Object.values(v).some(found);
  };
  return found(cs);
}
