import { PATIENT_CHART_TOPIC } from '../fhir/subscriptions-backport';
import { NotificationError, parseNotification } from './notification.parser';

const BASE = 'http://ehr.example.org/fhir';

/** A Backport IG R4 notification as the IG's examples write it (Bundle-r4-notification-*). */
function r4Notification(type: string, opts: { since: number; events?: { n: number; focus?: string; patient?: string }[]; entries?: object[]; bundleType?: string }) {
  return {
    resourceType: 'Bundle',
    type: opts.bundleType ?? 'history',
    timestamp: '2026-11-30T12:00:00Z',
    entry: [
      {
        fullUrl: 'urn:uuid:9e41ff6d-5be6-4e6a-8b85-abd4e7f58400',
        resource: {
          resourceType: 'Parameters',
          meta: { profile: ['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4'] },
          parameter: [
            { name: 'subscription', valueReference: { reference: `${BASE}/Subscription/sub-1` } },
            { name: 'topic', valueCanonical: PATIENT_CHART_TOPIC },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: type },
            { name: 'events-since-subscription-start', valueString: String(opts.since) },
            ...(opts.events ?? []).map((e) => ({
              name: 'notification-event',
              part: [
                { name: 'event-number', valueString: String(e.n) },
                { name: 'timestamp', valueInstant: '2026-11-30T12:00:00Z' },
                ...(e.focus ? [{ name: 'focus', valueReference: { reference: `${BASE}/${e.focus}` } }] : []),
                ...(e.patient ? [{ name: 'additional-context', valueReference: { reference: `${BASE}/${e.patient}` } }] : []),
              ],
            })),
          ],
        },
        request: { method: 'GET', url: `${BASE}/Subscription/sub-1/$status` },
        response: { status: '200' },
      },
      ...(opts.entries ?? []),
    ],
  };
}

const encounter = { resourceType: 'Encounter', id: 'enc-1', meta: { versionId: '3' }, status: 'in-progress', class: { code: 'IMP' }, subject: { reference: 'Patient/p1' } };

describe('parseNotification: Backport IG R4', () => {
  it('handshake: no events, the subscription and its count', () => {
    expect(parseNotification(r4Notification('handshake', { since: 0 }))).toEqual({ kind: 'topic', type: 'handshake', subscriptionId: 'sub-1', status: 'active', eventsSinceStart: 0, events: [] });
  });

  it('heartbeat: carries the server\'s event count (a gap shows here when the last event was lost)', () => {
    const n = parseNotification(r4Notification('heartbeat', { since: 7 }));
    expect(n).toMatchObject({ kind: 'topic', type: 'heartbeat', eventsSinceStart: 7, events: [] });
  });

  it('empty payload: event numbers only, no focus', () => {
    const n = parseNotification(r4Notification('event-notification', { since: 2, events: [{ n: 2 }] }));
    expect(n.events).toEqual([{ key: 'event-2', eventNumber: 2 }]);
  });

  it('id-only payload: focus and patient from notification-event, entries without resources', () => {
    const n = parseNotification(r4Notification('event-notification', {
      since: 5, events: [{ n: 5, focus: 'Condition/c-9', patient: 'Patient/p1' }],
      entries: [{ fullUrl: `${BASE}/Condition/c-9`, request: { method: 'PUT', url: 'Condition/c-9' }, response: { status: '200' } }],
    }));
    expect(n.events).toEqual([{ key: 'event-5', eventNumber: 5, focus: 'Condition/c-9', patient: 'Patient/p1' }]);
  });

  it('full-resource payload: the patient is read from the resource when no additional-context names it', () => {
    const n = parseNotification(r4Notification('event-notification', {
      since: 1, events: [{ n: 1, focus: 'Encounter/enc-1' }],
      entries: [{ fullUrl: `${BASE}/Encounter/enc-1`, resource: encounter, request: { method: 'POST', url: 'Encounter' }, response: { status: '201' } }],
    }));
    expect(n.events).toEqual([{ key: 'event-1', eventNumber: 1, focus: 'Encounter/enc-1', patient: 'Patient/p1' }]);
  });

  it('several events in one notification (backport-max-count), and HAPI\'s transaction POST of the same Bundle', () => {
    const n = parseNotification(r4Notification('event-notification', { since: 4, bundleType: 'transaction', events: [{ n: 3, focus: 'Encounter/a' }, { n: 4, focus: 'Condition/b' }] }));
    expect(n.events.map((e) => e.key)).toEqual(['event-3', 'event-4']);
  });

  it('$events answers (query-event) parse like notifications', () => {
    const n = parseNotification(r4Notification('query-event', { since: 9, bundleType: 'searchset', events: [{ n: 8, focus: 'Procedure/x', patient: 'Patient/p2' }] }));
    expect(n).toMatchObject({ type: 'query-event', eventsSinceStart: 9, events: [{ key: 'event-8', focus: 'Procedure/x', patient: 'Patient/p2' }] });
  });

  it('R4B: a SubscriptionStatus first entry', () => {
    const n = parseNotification({
      resourceType: 'Bundle', type: 'history',
      entry: [{ resource: { resourceType: 'SubscriptionStatus', status: 'active', type: 'event-notification', eventsSinceSubscriptionStart: '12', subscription: { reference: 'Subscription/s4' }, topic: PATIENT_CHART_TOPIC,
        notificationEvent: [{ eventNumber: '12', focus: { reference: 'MedicationRequest/m1' }, additionalContext: [{ reference: 'Patient/p3' }] }] } }],
    });
    expect(n).toEqual({ kind: 'topic', type: 'event-notification', subscriptionId: 's4', status: 'active', eventsSinceStart: 12, events: [{ key: 'event-12', eventNumber: 12, focus: 'MedicationRequest/m1', patient: 'Patient/p3' }] });
  });

  it.each([
    [{ resourceType: 'Bundle', type: 'history', entry: [] }, /entry\[0\] must hold the subscription status/],
    [{ resourceType: 'Bundle', type: 'history', entry: [{ resource: { resourceType: 'Patient' } }] }, /entry\[0\] is a Patient/],
    [{ resourceType: 'Bundle', type: 'document', entry: [] }, /Bundle.type document/],
    [r4Notification('event-notification', { since: 1 }), /at least one notification-event/],
    [r4Notification('bogus', { since: 1 }), /type "bogus" is not one of/],
    [r4Notification('event-notification', { since: -1 as number, events: [{ n: 1 }] }), /events-since-subscription-start "-1" is not a non-negative integer/],
    ['text', /not a FHIR resource/],
  ])('refuses what is not a notification, saying why (%#)', (body, why) => {
    expect(() => parseNotification(body)).toThrow(NotificationError);
    expect(() => parseNotification(body)).toThrow(why);
  });
});

describe('parseNotification: classic R4 rest-hook', () => {
  it('an empty POST (no payload) asks for a re-query', () => {
    expect(parseNotification(undefined)).toEqual({ kind: 'classic-ping', events: [] });
    expect(parseNotification({})).toEqual({ kind: 'classic-ping', events: [] });
  });

  it('HAPI\'s PUT {Type}/{id}: keyed by the version, patient from subject', () => {
    expect(parseNotification(encounter, { type: 'Encounter', id: 'enc-1' })).toEqual({
      kind: 'classic-resource', events: [{ key: 'Encounter/enc-1/_history/3', focus: 'Encounter/enc-1', patient: 'Patient/p1' }],
    });
  });

  it('a POSTed resource (no path) is read the same way; lastUpdated stands in for a missing versionId', () => {
    const condition = { resourceType: 'Condition', id: 'c1', meta: { lastUpdated: '2026-11-30T10:00:00Z' }, subject: { reference: `${BASE}/Patient/p9` } };
    expect(parseNotification(condition).events).toEqual([{ key: 'Condition/c1/_history/2026-11-30T10:00:00Z', focus: 'Condition/c1', patient: 'Patient/p9' }]);
  });

  it.each([
    [encounter, { type: 'Condition', id: 'enc-1' }, /URL names Condition\/enc-1 but the body is a Encounter/],
    [encounter, { type: 'Encounter', id: 'other' }, /body's id is enc-1/],
    [{ ...encounter, meta: {} }, { type: 'Encounter', id: 'enc-1' }, /meta.versionId \(or meta.lastUpdated\) is required/],
    [{ resourceType: 'Observation', id: 'o1', meta: { versionId: '1' } }, { type: 'Observation', id: 'o1' }, /not a type this subscriber acts on/],
    [undefined, { type: 'Encounter', id: 'enc-1' }, /must carry the resource/],
  ])('refuses a PUT that cannot be keyed or acted on (%#)', (body, path, why) => {
    expect(() => parseNotification(body, path)).toThrow(why);
  });
});
