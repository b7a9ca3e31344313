import { validateResource } from '@medplum/core';
import type { Bundle, Encounter, MedicationRequest, Parameters, Subscription } from '@medplum/fhirtypes';
import { EhrRepository } from './ehr-repository';
import { loadFhirDefinitions } from './fhir-definitions';
import { BACKPORT_URLS, PATIENT_CHART_TOPIC, readSubscription, subscriptionMatches, topicMatches, type PayloadContent, type SubscriptionConfig } from './subscription-config';
import { SubscriptionDelivery } from './subscription-delivery';
import { notificationBundle, type SubscriptionEvent } from './subscription-notifications';

const BASE = 'http://ehr.test/fhir';
const encounter: Encounter & { id: string } = { resourceType: 'Encounter', id: 'e1', meta: { versionId: 'v1', lastUpdated: '2026-01-02T03:04:05.000Z' }, status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/p1' } };
const event: SubscriptionEvent = { number: 3, timestamp: '2026-01-02T03:04:05.000Z', resource: encounter, created: true, patient: 'p1' };

function backportSubscription(content: PayloadContent, extra: Partial<Subscription> = {}): Subscription {
  return {
    resourceType: 'Subscription', status: 'requested', reason: 'leader-cds recommendations', criteria: PATIENT_CHART_TOPIC,
    channel: {
      type: 'rest-hook', endpoint: 'http://127.0.0.1:1/hook', payload: 'application/fhir+json', header: ['Authorization: Bearer s3cret'],
      _payload: { extension: [{ url: BACKPORT_URLS.payloadContent, valueCode: content }] },
      extension: [{ url: BACKPORT_URLS.heartbeatPeriod, valueUnsignedInt: 60 }, { url: BACKPORT_URLS.timeout, valueUnsignedInt: 5 }, { url: BACKPORT_URLS.maxCount, valuePositiveInt: 2 }],
    } as Subscription['channel'],
    ...extra,
  };
}

function parameters(bundle: Bundle): Parameters {
  return bundle.entry?.[0].resource as Parameters;
}

function param(p: Parameters, name: string) {
  return p.parameter?.find((x) => x.name === name);
}

describe('Subscription notifications (Backport IG R4)', () => {
  beforeAll(() => loadFhirDefinitions());

  const notify = (content: PayloadContent, type: 'event-notification' | 'handshake' = 'event-notification') => notificationBundle({
    fhirBase: BASE, subscriptionId: 's1', topic: PATIENT_CHART_TOPIC, status: 'active', type, eventsSinceStart: type === 'handshake' ? 0 : 3,
    events: type === 'handshake' ? [] : [event], content,
  });

  it('opens every notification with the status Parameters, requested as GET Subscription/{id}/$status; valid R4', () => {
    for (const type of ['handshake', 'event-notification'] as const) {
      const bundle = notify('id-only', type);
      expect(validateResource(bundle).filter((i) => i.severity === 'error')).toEqual([]);
      expect(validateResource(parameters(bundle)).filter((i) => i.severity === 'error')).toEqual([]);
      expect(bundle.type).toBe('history');
      expect(bundle.meta?.profile).toEqual([BACKPORT_URLS.notificationProfile]);
      expect(bundle.entry?.[0].request).toEqual({ method: 'GET', url: 'Subscription/s1/$status' });
      const status = parameters(bundle);
      expect(status.meta?.profile).toEqual([BACKPORT_URLS.statusProfile]);
      expect(param(status, 'subscription')?.valueReference?.reference).toBe(`${BASE}/Subscription/s1`);
      expect(param(status, 'topic')?.valueCanonical).toBe(PATIENT_CHART_TOPIC);
      expect(param(status, 'type')?.valueCode).toBe(type);
      expect(param(status, 'events-since-subscription-start')?.valueString).toBe(type === 'handshake' ? '0' : '3');
      expect(param(status, 'notification-event') === undefined).toBe(type === 'handshake');
    }
  });

  it('id-only: focus and additional-context in the event, one entry per focus with fullUrl and request only', () => {
    const bundle = notify('id-only');
    const parts = param(parameters(bundle), 'notification-event')?.part ?? [];
    expect(parts.map((p) => p.name)).toEqual(['event-number', 'timestamp', 'focus', 'additional-context']);
    expect(parts[0].valueString).toBe('3');
    expect(parts[2].valueReference?.reference).toBe(`${BASE}/Encounter/e1`);
    expect(parts[3].valueReference?.reference).toBe(`${BASE}/Patient/p1`);
    expect(bundle.entry).toHaveLength(2);
    expect(bundle.entry?.[1]).toEqual({ fullUrl: `${BASE}/Encounter/e1`, request: { method: 'POST', url: 'Encounter' }, response: { status: '201' } });
  });

  it('full-resource carries the version written; empty carries no focus and no entries', () => {
    const full = notify('full-resource');
    expect(validateResource(full).filter((i) => i.severity === 'error')).toEqual([]);
    expect(full.entry?.[1].resource).toEqual(encounter);
    const empty = notify('empty');
    expect(validateResource(empty).filter((i) => i.severity === 'error')).toEqual([]);
    expect(empty.entry).toHaveLength(1);
    expect(param(parameters(empty), 'notification-event')?.part?.map((p) => p.name)).toEqual(['event-number', 'timestamp']);
  });

  it('the validator is not a rubber stamp: a broken status entry is refused', () => {
    const bundle = notify('id-only');
    (parameters(bundle).parameter as unknown as { name: string; valueString: number }[])[4].valueString = 7;
    expect(() => validateResource(bundle)).toThrow();
  });
});

describe('Subscription configuration', () => {
  beforeAll(() => loadFhirDefinitions());

  it('reads a Backport R4 Subscription that validates as R4', () => {
    const sub = backportSubscription('full-resource', { _criteria: { extension: [{ url: BACKPORT_URLS.filterCriteria, valueString: 'patient=Patient/p1' }] } } as Partial<Subscription>);
    expect(validateResource(sub).filter((i) => i.severity === 'error')).toEqual([]);
    const config = readSubscription(sub) as SubscriptionConfig;
    expect(config).toMatchObject({ endpoint: 'http://127.0.0.1:1/hook', headers: [['Authorization', 'Bearer s3cret']], timeoutMs: 5000, channel: { kind: 'topic', content: 'full-resource', heartbeatMs: 60_000, maxCount: 2 } });
    expect(subscriptionMatches(config, encounter)).toBe(true);
    expect(subscriptionMatches(config, { ...encounter, subject: { reference: 'Patient/p2' } })).toBe(false);
    const prefixed = readSubscription({ ...sub, _criteria: { extension: [{ url: BACKPORT_URLS.filterCriteria, valueString: 'Encounter?patient=p2' }] } } as Subscription) as SubscriptionConfig;
    expect((prefixed.channel as { patients?: Set<string> }).patients).toEqual(new Set(['p2']));
  });

  it('names what makes a Subscription unusable', () => {
    expect(readSubscription(backportSubscription('id-only', { criteria: 'http://example.org/other-topic' }))).toMatch(/unknown topic/);
    const ftp = backportSubscription('id-only');
    ftp.channel.endpoint = 'ftp://example.org/x';
    expect(readSubscription(ftp)).toMatch(/channel.endpoint .*http\(s\)/);
    const header = backportSubscription('id-only');
    header.channel.header = ['no colon here'];
    expect(readSubscription(header)).toMatch(/channel.header\[0\]/);
    expect(readSubscription(backportSubscription('everything' as PayloadContent))).toMatch(/empty, id-only or full-resource/);
    expect(readSubscription(backportSubscription('id-only', { _criteria: { extension: [{ url: BACKPORT_URLS.filterCriteria, valueString: 'code=123' }] } } as Partial<Subscription>))).toMatch(/patient=/);
    expect(readSubscription({ ...backportSubscription('id-only'), criteria: 'Nonsense?x=1' })).toMatch(/topic canonical or a search/);
    expect(readSubscription({ ...backportSubscription('id-only'), criteria: 'Encounter?nonsense=1' })).toMatch(/nonsense is not a search parameter of Encounter/);
  });

  it('triggers on the topic types, never on proposals the subscriber writes back', () => {
    const order: MedicationRequest = { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' }, medicationCodeableConcept: { text: 'x' } };
    expect(topicMatches(order)).toBe(true);
    expect(topicMatches({ ...order, status: 'draft', intent: 'proposal' })).toBe(false);
    expect(topicMatches({ resourceType: 'Observation', status: 'final', code: { text: 'x' } })).toBe(false);
  });

  it('matches classic criteria with Medplum search matching', () => {
    const sub: Subscription = { resourceType: 'Subscription', status: 'requested', reason: 'r', criteria: 'MedicationRequest?intent=order', channel: { type: 'rest-hook', endpoint: 'https://example.org/hook' } };
    const config = readSubscription(sub) as SubscriptionConfig;
    expect(config.channel).toMatchObject({ kind: 'classic', payload: false });
    const order: MedicationRequest = { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' }, medicationCodeableConcept: { text: 'x' } };
    expect(subscriptionMatches(config, order)).toBe(true);
    expect(subscriptionMatches(config, { ...order, intent: 'plan' })).toBe(false);
    expect(subscriptionMatches(config, encounter)).toBe(false);
  });
});

describe('$status and $events', () => {
  beforeAll(() => loadFhirDefinitions());

  it('keeps every event of a Subscription, answers ranges in any payload level, and counts from 1', async () => {
    const repo = new EhrRepository();
    // Nothing listens on port 1: the handshake fails at once and the Subscription goes to error; events are still kept.
    const delivery = new SubscriptionDelivery({ fhirBase: BASE, repo, maxAttempts: 1, backoffMs: 0 });
    repo.onWrite((r, i) => delivery.written(r, i));
    try {
      const sub = await repo.createResource(backportSubscription('id-only'));
      for (let i = 0; i < 3; i++) await repo.createResource({ ...encounter, id: `e${i}` });
      await repo.createResource({ resourceType: 'MedicationRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/p1' }, medicationCodeableConcept: { text: 'x' } });
      const events = delivery.operation('events', sub.id, { eventsSinceNumber: '2', content: 'full-resource' });
      expect(validateResource(events).filter((i) => i.severity === 'error')).toEqual([]);
      const status = parameters(events);
      expect(param(status, 'type')?.valueCode).toBe('query-event');
      expect(param(status, 'events-since-subscription-start')?.valueString).toBe('3');
      expect(status.parameter?.filter((p) => p.name === 'notification-event').map((p) => p.part?.[0].valueString)).toEqual(['2', '3']);
      expect(events.entry?.slice(1).map((e) => e.resource?.id)).toEqual(['e1', 'e2']);
      const query = delivery.operation('status', sub.id, {});
      expect(param(parameters(query), 'type')?.valueCode).toBe('query-status');
      expect(query.entry).toHaveLength(1);
      expect(() => delivery.operation('events', sub.id, { eventsSinceNumber: 'two' })).toThrow(/whole number/);
      expect(() => delivery.operation('status', 'nope', {})).toThrow(/no such Subscription/);
    } finally {
      delivery.close();
    }
  });
});
