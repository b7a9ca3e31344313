import { createHmac } from 'node:crypto';
import { badRequest, notFound, OperationOutcomeError } from '@medplum/core';
import type { Bundle, Resource, Subscription } from '@medplum/fhirtypes';
import type { EhrRepository, WriteInteraction } from './ehr-repository';
import { patientOf, PATIENT_CHART_TOPIC, readSubscription, subscriptionMatches, type PayloadContent, type SubscriptionConfig } from './subscription-config';
import type { FaultSwitches } from './subscription-faults';
import { notificationBundle, type NotificationType, type SubscriptionEvent } from './subscription-notifications';

/** Events kept per Subscription for `$events` (the oldest go first): a test EHR, bounded. */
export const MAX_STORED_EVENTS = 10_000;
/** Delivery log entries kept for `GET /ehr/deliveries`. */
export const MAX_DELIVERY_RECORDS = 10_000;
const MAX_BACKOFF_MS = 60_000;

export interface DeliveryOptions {
  fhirBase: string;
  repo: EhrRepository;
  /** Attempts per notification before the Subscription goes to `error` (HAPI's retry count is 5 too). */
  maxAttempts: number;
  /** Wait before the second attempt; doubled before each further one (capped at a minute). */
  backoffMs: number;
  faults?: FaultSwitches;
  log?: (line: string) => void;
}

/** One HTTP attempt (or a dropped notification), as `GET /ehr/deliveries` lists it. */
export interface DeliveryRecord {
  seq: number;
  at: string;
  subscription: string;
  channel: 'topic' | 'classic';
  type: NotificationType;
  eventNumbers: number[];
  method: 'POST' | 'PUT';
  url: string;
  attempt: number;
  /** The endpoint's HTTP status; null when it could not be reached (or timed out) or the notification was dropped. */
  status: number | null;
  outcome: 'delivered' | 'failed' | 'dropped';
  error?: string;
  fault?: 'duplicate' | 'reorder' | 'drop' | 'wrong-secret';
}

interface QueueItem {
  type: 'handshake' | 'heartbeat' | 'event-notification';
  events: SubscriptionEvent[];
  /** A notification the `reorder` fault held back, now released: sent as it is. */
  released?: boolean;
}

interface SubscriptionState {
  id: string;
  config: SubscriptionConfig;
  status: NonNullable<Subscription['status']>;
  error?: string;
  eventCount: number;
  events: SubscriptionEvent[];
  queue: QueueItem[];
  /** An event notification held back by the `reorder` fault until the next one was sent. */
  held?: QueueItem;
  pumping: boolean;
  heartbeat?: NodeJS.Timeout;
  /** Bumped when the Subscription is switched off or deleted: an in-flight delivery loop stops. */
  generation: number;
}

/**
 * Delivers `leader ehr`'s Subscriptions: Backport IG R4 topic-based (handshake, heartbeat,
 * event-notification; empty, id-only and full-resource payloads) and classic R4 criteria-based
 * rest-hooks as HAPI sends them (empty POST, or PUT `{endpoint}/{Type}/{id}`). Writes reach it
 * from the store after they are committed (`written`); it records the events synchronously, in
 * write order, and delivers them later, one at a time per Subscription, with retries.
 */
export class SubscriptionDelivery {
  private readonly states = new Map<string, SubscriptionState>();
  private readonly log: DeliveryRecord[] = [];
  private seq = 0;
  /** True while this class writes a Subscription's status itself (that write is not a client's request). */
  private ownWrite = false;
  private closed = false;

  constructor(private readonly options: DeliveryOptions) {}

  /** The store's write listener: a committed create, update or delete. */
  written(resource: Resource & { id: string }, interaction: WriteInteraction): void {
    if (this.closed) return;
    if (resource.resourceType === 'Subscription') {
      if (!this.ownWrite) this.subscriptionWritten(resource as Subscription & { id: string }, interaction);
      return;
    }
    if (interaction === 'delete') return; // no notification on delete (R4 and the topic alike)
    for (const state of this.states.values()) {
      if (state.status === 'off' || !subscriptionMatches(state.config, resource)) continue;
      if (state.config.endMs !== undefined && state.config.endMs <= Date.now()) {
        this.stop(state);
        void this.setStatus(state, 'off', undefined);
        continue;
      }
      const event: SubscriptionEvent = {
        number: ++state.eventCount, timestamp: resource.meta?.lastUpdated ?? new Date().toISOString(),
        resource: structuredClone(resource), created: interaction === 'create', patient: patientOf(resource),
      };
      state.events.push(event);
      if (state.events.length > MAX_STORED_EVENTS) state.events.shift();
      state.queue.push({ type: 'event-notification', events: [event] });
      this.schedule(state);
    }
  }

  /** `$status` (type query-status) or `$events` (type query-event) of a topic-based Subscription. */
  operation(name: 'status' | 'events', id: string, params: Record<string, string | undefined>): Bundle {
    const state = this.states.get(id);
    if (!state) throw new OperationOutcomeError({ ...notFound, issue: [{ severity: 'error', code: 'not-found', details: { text: `Subscription/${id}: no such Subscription is delivered by this server` } }] });
    const channel = state.config.channel;
    if (channel.kind !== 'topic') throw new OperationOutcomeError(badRequest(`Subscription/${id} is a classic (criteria-based) Subscription: $${name} answers for topic-based ones only`));
    const base = { fhirBase: this.options.fhirBase, subscriptionId: id, topic: PATIENT_CHART_TOPIC, status: state.status, eventsSinceStart: state.eventCount, error: state.error };
    if (name === 'status') return notificationBundle({ ...base, type: 'query-status', events: [], content: channel.content });
    const since = eventNumber(params.eventsSinceNumber, 'eventsSinceNumber') ?? 1;
    const until = eventNumber(params.eventsUntilNumber, 'eventsUntilNumber') ?? state.eventCount;
    const content = params.content ?? channel.content;
    if (!['empty', 'id-only', 'full-resource'].includes(content)) throw new OperationOutcomeError(badRequest(`content=${content}: expected empty, id-only or full-resource`));
    const events = state.events.filter((e) => e.number >= since && e.number <= until);
    return notificationBundle({ ...base, type: 'query-event', events, content: content as PayloadContent });
  }

  /** The delivery log, oldest first; `after` skips records up to that `seq`, `subscription` keeps one Subscription's. */
  deliveries(filter: { subscription?: string; after?: number } = {}): DeliveryRecord[] {
    return this.log.filter((r) => (filter.subscription === undefined || r.subscription === filter.subscription) && (filter.after === undefined || r.seq > filter.after));
  }

  close(): void {
    this.closed = true;
    for (const state of this.states.values()) this.stop(state);
    this.states.clear();
  }

  private subscriptionWritten(sub: Subscription & { id: string }, interaction: WriteInteraction): void {
    const existing = this.states.get(sub.id);
    if (interaction === 'delete') {
      if (existing) this.stop(existing);
      this.states.delete(sub.id);
      return;
    }
    const config = readSubscription(sub);
    if (typeof config === 'string') {
      // Only a patch can store an unusable Subscription (creates and updates are checked first).
      if (existing) this.stop(existing);
      this.states.delete(sub.id);
      void this.writeStatus(sub.id, 'error', config);
      return;
    }
    const state: SubscriptionState = existing ?? { id: sub.id, config, status: 'requested', eventCount: 0, events: [], queue: [], pumping: false, generation: 0 };
    state.config = config;
    this.states.set(sub.id, state);
    const wanted = sub.status;
    if (wanted === 'off' || wanted === 'error') {
      this.stop(state);
      state.status = wanted;
      return;
    }
    // A client asks for activation with `requested` (or creates one `active`): topic-based ones get a handshake first.
    if (wanted === 'requested' || !existing) {
      if (config.channel.kind === 'topic') {
        state.status = 'requested';
        state.error = undefined;
        state.queue.unshift({ type: 'handshake', events: [] });
        this.schedule(state);
      } else {
        void this.setStatus(state, 'active', undefined);
      }
      return;
    }
    state.status = wanted ?? state.status;
    this.armHeartbeat(state);
  }

  private stop(state: SubscriptionState): void {
    state.generation++;
    state.queue = [];
    state.held = undefined;
    clearTimeout(state.heartbeat);
  }

  private schedule(state: SubscriptionState): void {
    if (state.pumping || this.closed) return;
    state.pumping = true;
    clearTimeout(state.heartbeat);
    setImmediate(() => void this.pump(state));
  }

  /** Sends the queue in order, one notification at a time (retries included), then arms the heartbeat. */
  private async pump(state: SubscriptionState): Promise<void> {
    const generation = state.generation;
    try {
      while (state.queue.length > 0 && generation === state.generation && !this.closed) {
        const item = state.queue.shift() as QueueItem;
        const channel = state.config.channel;
        // backport-max-count: queued events travel together, up to that many per notification.
        if (item.type === 'event-notification' && channel.kind === 'topic') {
          while (item.events.length < channel.maxCount && state.queue[0]?.type === 'event-notification') item.events.push(...(state.queue.shift() as QueueItem).events);
        }
        await this.send(state, item);
      }
    } catch (e) {
      this.options.log?.(`leader ehr: Subscription/${state.id}: ${(e as Error).stack ?? String(e)}`);
    } finally {
      state.pumping = false;
    }
    if (generation === state.generation) this.armHeartbeat(state);
  }

  private async send(state: SubscriptionState, item: QueueItem): Promise<void> {
    const faults = this.options.faults;
    if (item.type !== 'event-notification' || !faults || item.released) {
      await this.deliver(state, item, false, item.released ? 'reorder' : undefined);
      return;
    }
    if (faults.take('drop')) {
      const { method, url } = this.target(state, item);
      this.record({ subscription: state.id, channel: state.config.channel.kind, type: item.type, eventNumbers: item.events.map((e) => e.number), method, url, attempt: 0, status: null, outcome: 'dropped', fault: 'drop' });
      return;
    }
    if (!state.held && faults.take('reorder')) {
      state.held = item;
      return;
    }
    const wrongSecret = faults.take('wrongSecret');
    const duplicate = faults.take('duplicate');
    await this.deliver(state, item, wrongSecret);
    if (duplicate) await this.deliver(state, item, wrongSecret, 'duplicate');
    const held = state.held;
    if (held && held !== item) {
      state.held = undefined;
      await this.deliver(state, held, false, 'reorder');
    }
  }

  private target(state: SubscriptionState, item: QueueItem): { method: 'POST' | 'PUT'; url: string } {
    const { config } = state;
    if (config.channel.kind === 'classic' && config.channel.payload) {
      const r = item.events[0].resource;
      return { method: 'PUT', url: `${config.endpoint.replace(/\/+$/, '')}/${r.resourceType}/${encodeURIComponent(r.id)}` };
    }
    return { method: 'POST', url: config.endpoint };
  }

  /** One notification with retries; success (re)activates the Subscription, running out of attempts puts it in `error`. */
  private async deliver(state: SubscriptionState, item: QueueItem, wrongSecret: boolean, fault?: DeliveryRecord['fault']): Promise<void> {
    const { config } = state;
    const channel = config.channel;
    const generation = state.generation;
    const { method, url } = this.target(state, item);
    let body = '';
    if (channel.kind === 'topic') {
      const last = item.events.at(-1)?.number;
      body = JSON.stringify(notificationBundle({
        fhirBase: this.options.fhirBase, subscriptionId: state.id, topic: PATIENT_CHART_TOPIC, status: state.status, type: item.type,
        eventsSinceStart: item.type === 'event-notification' && last !== undefined ? last : state.eventCount, events: item.events, content: channel.content,
      }));
    } else if (channel.payload) {
      body = JSON.stringify(item.events[0].resource);
    }
    const headers = new Headers();
    if (body) headers.set('Content-Type', channel.kind === 'topic' ? channel.mime : 'application/fhir+json');
    for (const [name, value] of config.headers) headers.append(name, wrongSecret ? `${value}-wrong` : value);
    if (config.secret) headers.set('X-Signature', createHmac('sha256', wrongSecret ? `${config.secret}-wrong` : config.secret).update(body).digest('hex'));
    const eventNumbers = item.events.map((e) => e.number);
    let last = '';
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      if (generation !== state.generation || this.closed) return;
      const result = await post(url, method, headers, body, config.timeoutMs);
      const ok = result.status !== null && result.status >= 200 && result.status < 300;
      this.record({
        subscription: state.id, channel: channel.kind, type: item.type, eventNumbers, method, url, attempt, status: result.status,
        outcome: ok ? 'delivered' : 'failed', ...(result.error ? { error: result.error } : {}), ...(wrongSecret ? { fault: 'wrong-secret' } : fault ? { fault } : {}),
      });
      if (ok) {
        if (state.status !== 'active' && generation === state.generation) await this.setStatus(state, 'active', undefined);
        return;
      }
      last = result.status === null ? result.error ?? 'unreachable' : `HTTP ${result.status}`;
      if (attempt < this.options.maxAttempts) await sleep(Math.min(MAX_BACKOFF_MS, this.options.backoffMs * 2 ** (attempt - 1)));
    }
    if (generation !== state.generation) return;
    await this.setStatus(state, 'error', `${item.type}${eventNumbers.length ? ` (events ${eventNumbers.join(', ')})` : ''} to ${url} failed ${this.options.maxAttempts} times; last: ${last}`);
  }

  private record(r: Omit<DeliveryRecord, 'seq' | 'at'>): void {
    this.log.push({ seq: ++this.seq, at: new Date().toISOString(), ...r });
    if (this.log.length > MAX_DELIVERY_RECORDS) this.log.shift();
  }

  private armHeartbeat(state: SubscriptionState): void {
    clearTimeout(state.heartbeat);
    const channel = state.config.channel;
    if (channel.kind !== 'topic' || !channel.heartbeatMs || (state.status !== 'active' && state.status !== 'error') || this.closed) return;
    state.heartbeat = setTimeout(() => {
      if (state.pumping || state.queue.length > 0 || this.states.get(state.id) !== state) return;
      // A notification held by `reorder` with none following goes out instead of the heartbeat, late.
      const held = state.held;
      state.held = undefined;
      state.queue.push(held ? { ...held, released: true } : { type: 'heartbeat', events: [] });
      this.schedule(state);
    }, channel.heartbeatMs);
    state.heartbeat.unref();
  }

  private async setStatus(state: SubscriptionState, status: NonNullable<Subscription['status']>, error: string | undefined): Promise<void> {
    state.status = status;
    state.error = error;
    if (error) this.options.log?.(`leader ehr: Subscription/${state.id} is in error: ${error}`);
    await this.writeStatus(state.id, status, error);
    this.armHeartbeat(state);
  }

  /** Stores the status this server decided (R4 `Subscription.status` and `.error`) as a new version. */
  private writeStatus(id: string, status: NonNullable<Subscription['status']>, error: string | undefined): Promise<void> {
    const { repo } = this.options;
    return repo.exclusive(async () => {
      const current = await repo.readResource<Subscription>('Subscription', id).catch(() => undefined);
      if (!current || (current.status === status && current.error === error)) return;
      const next: Subscription = { ...current, status };
      if (error) next.error = error;
      else delete next.error;
      this.ownWrite = true;
      try {
        await repo.updateResource(next);
      } finally {
        this.ownWrite = false;
      }
    });
  }
}

async function post(url: string, method: 'POST' | 'PUT', headers: Headers, body: string, timeoutMs: number): Promise<{ status: number | null; error?: string }> {
  try {
    // A Buffer body: fetch adds no text/plain Content-Type to the empty classic POST.
    const res = await fetch(url, { method, headers, body: Buffer.from(body), redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return { status: null, error: err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : err.cause?.code ?? err.cause?.message ?? err.message };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function eventNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new OperationOutcomeError(badRequest(`${name}=${value}: expected a whole number`));
  return n;
}
