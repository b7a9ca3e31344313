import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SubscriptionStore } from './subscription.store';

describe('SubscriptionStore (SQLite queue)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'subs-store-'));
    file = path.join(dir, 'nested', 'subscriptions.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const topic = { fhirServer: 'http://ehr/fhir', kind: 'topic' as const, criteria: 'http://leader-cds.org/fhir/SubscriptionTopic/patient-chart-change', heartbeatSeconds: 30 };

  it('registrations get a random id and a 256-bit secret, and survive reopening', () => {
    const store = SubscriptionStore.open(file);
    const a = store.createRegistration(topic);
    const b = store.createRegistration({ ...topic, kind: 'classic', criteria: 'Encounter?' });
    expect(a.id).not.toBe(b.id);
    expect(Buffer.from(a.secret, 'base64url')).toHaveLength(32);
    store.setSubscriptionId(a.id, 'sub-1');
    store.close();
    const again = SubscriptionStore.open(file);
    expect(again.registration(a.id)).toMatchObject({ subscriptionId: 'sub-1', heartbeatSeconds: 30, knownEvents: 0, secret: a.secret });
    expect(again.registrations().map((r) => r.id)).toEqual([a.id, b.id]);
    again.close();
  });

  it('dedupes on (registration, event number) and (resource, version): a repeat queues nothing', () => {
    const store = SubscriptionStore.open(file);
    const reg = store.createRegistration(topic);
    const other = store.createRegistration(topic);
    expect(store.record(reg.id, { events: [{ key: 'event-1', eventNumber: 1, focus: 'Encounter/e1' }] })).toBe(1);
    expect(store.record(reg.id, { events: [{ key: 'event-1', eventNumber: 1, focus: 'Encounter/e1' }] })).toBe(0);
    // The same event number of another subscription is another event.
    expect(store.record(other.id, { events: [{ key: 'event-1', eventNumber: 1 }] })).toBe(1);
    expect(store.record(reg.id, { events: [{ key: 'Condition/c1/_history/2', focus: 'Condition/c1' }, { key: 'Condition/c1/_history/2', focus: 'Condition/c1' }, { key: 'Condition/c1/_history/3', focus: 'Condition/c1' }] })).toBe(2);
    expect(store.jobs({ registration: reg.id }).map((j) => j.key)).toEqual(['event-1', 'Condition/c1/_history/2', 'Condition/c1/_history/3']);
    store.close();
  });

  it('finds gaps in event numbers, including a lost last event revealed by a heartbeat count', () => {
    const store = SubscriptionStore.open(file);
    const reg = store.createRegistration(topic);
    store.record(reg.id, { events: [{ key: 'event-1', eventNumber: 1 }, { key: 'event-4', eventNumber: 4 }], eventsSinceStart: 4 });
    expect(store.missingEventNumbers(reg.id)).toEqual([2, 3]);
    store.record(reg.id, { events: [], eventsSinceStart: 6 });
    expect(store.missingEventNumbers(reg.id)).toEqual([2, 3, 5, 6]);
    expect(store.registration(reg.id)?.lastHeardMs).toBeGreaterThan(0);
    store.close();
  });

  it('claims due jobs oldest first, retries after a delay, dead-letters, and can queue dead letters again', () => {
    const store = SubscriptionStore.open(file);
    const reg = store.createRegistration(topic);
    store.record(reg.id, { events: [{ key: 'event-1', eventNumber: 1 }, { key: 'event-2', eventNumber: 2 }] }, 1000);
    const first = store.claim(1000)!;
    expect(first).toMatchObject({ key: 'event-1', status: 'processing', attempts: 1 });
    store.fail(first.id, 'HTTP 503', { delayMs: 5000 }, 1000);
    expect(store.claim(1000)).toMatchObject({ key: 'event-2' });
    expect(store.claim(1000)).toBeUndefined();
    expect(store.nextDueIn(1000)).toBe(5000);
    const retried = store.claim(6000)!;
    expect(retried).toMatchObject({ key: 'event-1', attempts: 2, lastError: 'HTTP 503' });
    store.fail(retried.id, 'HTTP 503 again', { dead: true }, 6000);
    expect(store.jobs({ status: 'dead' })).toEqual([expect.objectContaining({ key: 'event-1', attempts: 2, lastError: 'HTTP 503 again' })]);
    expect(store.retryDeadLetters(reg.id, 7000)).toBe(1);
    expect(store.claim(7000)).toMatchObject({ key: 'event-1', attempts: 1 });
    store.close();
  });

  it('crash safety: an acknowledged event is on disk, and a job a killed worker held is pending again on reopen', () => {
    const store = SubscriptionStore.open(file);
    const reg = store.createRegistration(topic);
    store.record(reg.id, { events: [{ key: 'event-1', eventNumber: 1, focus: 'Encounter/e1' }, { key: 'event-2', eventNumber: 2 }] });
    store.claim();
    // No close(): the process "dies" with a job in processing; the WAL holds every committed row.
    const reader = SubscriptionStore.open(file);
    expect(reader.jobs().map((j) => [j.key, j.status])).toEqual([['event-1', 'processing'], ['event-2', 'pending']]);
    reader.close();
    const restarted = SubscriptionStore.open(file, { recover: true });
    expect(restarted.jobs().map((j) => [j.key, j.status])).toEqual([['event-1', 'pending'], ['event-2', 'pending']]);
    expect(restarted.claim()).toMatchObject({ key: 'event-1', attempts: 2, focus: 'Encounter/e1' });
    restarted.close();
    store.close();
  });

  it('keeps one waiting re-query per registration (it covers every change before it runs)', () => {
    const store = SubscriptionStore.open(file);
    const reg = store.createRegistration({ ...topic, kind: 'classic', criteria: 'Encounter?' });
    expect(store.record(reg.id, { events: [], poll: true })).toBe(1);
    expect(store.record(reg.id, { events: [], poll: true })).toBe(0);
    const job = store.claim()!;
    expect(job.source).toBe('poll');
    expect(store.queuePoll(reg.id)).toBe(0);
    store.complete(job.id, 'done');
    expect(store.queuePoll(reg.id)).toBe(1);
    expect(store.counts(reg.id)).toEqual({ pending: 1, processing: 0, done: 1, dead: 0 });
    store.close();
  });

  it('deleting a registration removes its jobs', () => {
    const store = SubscriptionStore.open(file);
    const reg = store.createRegistration(topic);
    store.record(reg.id, { events: [{ key: 'event-1', eventNumber: 1 }] });
    store.deleteRegistration(reg.id);
    expect(store.registration(reg.id)).toBeUndefined();
    expect(store.jobs()).toEqual([]);
    store.close();
  });
});
