import { HttpException, Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Bundle, DetectedIssue, Identifier, MedicationRequest, Reference, RequestGroup, Resource } from 'fhir/r4';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { FhirServerClient, FhirServerError } from '../fhir/fhir-server.client';
import { CdsHooksService } from '../cds-hooks/cds-hooks.service';
import { DEFAULT_PREFETCH, type PrefetchKey } from '../cds-hooks/cds-services.registry';
import type { CdsRequest } from '../cds-hooks/cds-hooks.types';
import { publicBaseOf } from '../cds-hooks/public-base-url';
import { StudentModel } from '../inference/student-model';
import { BackendTokenClient, BackendTokenError } from './backend-token';
import { NotificationError, parseNotification, patientOf, TRIGGER_TYPES, typeAndId, type NotificationEvent } from './notification.parser';
import { SubscriptionStore, type Job, type Registration } from './subscription.store';
import { ORDER_INTENTS } from './subscription-resource';
import { retireTransactions, SYSTEMS, uuidOf, WRITE_BACK_SYSTEM_PREFIX, writeBackTransaction } from './write-back.builder';

/** The hooks' prefetch queries, with proposals left out (the subscriber's own would read as drafted orders). */
export const SUBSCRIPTION_QUERIES: Record<PrefetchKey, string> = {
  ...DEFAULT_PREFETCH,
  medicationRequests: `${DEFAULT_PREFETCH.medicationRequests}&intent=${ORDER_INTENTS}`,
};

/** A gap in event numbers is acted on after this long (a reordered event may still arrive). */
const GAP_GRACE_MS = 2000;
const MAX_BACKOFF_MS = 10 * 60_000;
/** Re-queries overlap the previous one by this much (clock skew between the server's lastUpdated and ours). */
const POLL_OVERLAP_MS = 5000;

/**
 * Works the queue: claims one job at a time, re-reads the focus and the patient's CURRENT record from
 * the FHIR server (so repeated and reordered events converge on the same answer), builds the cards
 * exactly as order-select does (CdsHooksService.cardsFor) and writes them back in one conditional
 * transaction. FHIR failures are retried with exponential backoff; after SUBSCRIPTIONS_MAX_ATTEMPTS the
 * job is a dead letter. Between jobs it watches each topic subscription: a gap in event numbers or a
 * missed heartbeat is repaired through `$status` / `$events`, else by re-querying the server.
 */
@Injectable()
export class SubscriptionWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly tokens: BackendTokenClient | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private readonly gapSince = new Map<string, number>();
  private readonly statusCheckedAt = new Map<string, number>();
  private lastWatch = 0;

  constructor(
    private readonly store: SubscriptionStore,
    private readonly cds: CdsHooksService,
    private readonly model: StudentModel,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const s = config.subscriptions;
    this.tokens = s.clientId && s.privateKeyFile ? new BackendTokenClient({ clientId: s.clientId, privateKeyFile: s.privateKeyFile, scope: s.scope, ...(s.tokenUrl ? { tokenUrl: s.tokenUrl } : {}) }) : undefined;
  }

  onApplicationBootstrap(): void {
    if (!this.tokens) {
      if (this.store.registrations().length > 0) this.logger.warn('subscriptions: SUBSCRIPTIONS_CLIENT_ID / SUBSCRIPTIONS_PRIVATE_KEY_FILE not set: notifications are queued but not processed');
      return;
    }
    this.running = this.loop();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.running;
    this.store.close();
  }

  /** A notification was queued: stop waiting. */
  wake(): void {
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (Date.now() - this.lastWatch >= this.config.subscriptions.pollMs) {
          this.lastWatch = Date.now();
          await this.watch();
        }
        const job = this.store.claim();
        if (job) {
          await this.run(job);
          continue;
        }
      } catch (e) {
        this.logger.error({ err: { message: (e as Error).message } }, 'subscriptions: worker step failed');
      }
      const due = this.store.nextDueIn();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(due ?? Infinity, this.config.subscriptions.pollMs));
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  /** One job: done with an outcome, back to pending after a backoff, or a dead letter. */
  async run(job: Job): Promise<void> {
    const reg = this.store.registration(job.registration);
    if (!reg) return this.store.complete(job.id, 'ignored: registration deleted');
    const started = Date.now();
    try {
      const outcome = job.source === 'poll' ? await this.poll(reg) : await this.process(reg, job);
      this.store.complete(job.id, outcome);
      this.logger.info({ registration: reg.id, job: job.key, outcome, ms: Date.now() - started }, 'subscriptions: event processed');
    } catch (e) {
      // A refused token is signed anew on the retry.
      if (e instanceof FhirServerError && e.status === 401) this.tokens?.forget(reg.fhirServer);
      const { message, retryable } = failureOf(e);
      const max = this.config.subscriptions.maxAttempts;
      if (!retryable || job.attempts >= max) {
        this.store.fail(job.id, message, { dead: true });
        this.logger.error({ registration: reg.id, job: job.key, attempts: job.attempts, error: message }, 'subscriptions: dead letter');
      } else {
        const delayMs = Math.min(MAX_BACKOFF_MS, this.config.subscriptions.retryBaseMs * 2 ** (job.attempts - 1));
        this.store.fail(job.id, message, { delayMs });
        this.logger.warn({ registration: reg.id, job: job.key, attempts: job.attempts, delayMs, error: message }, 'subscriptions: will retry');
      }
    }
  }

  /** Re-read the focus, recommend as order-select would, write back once. Returns what was done. */
  private async process(reg: Registration, job: Job): Promise<string> {
    const client = await this.client(reg.fhirServer);
    if (!job.focus) {
      // An `empty` payload says only that something changed: find out what by re-querying.
      this.store.queuePoll(reg.id);
      return 'no focus (empty payload): re-query queued';
    }
    let focus: Resource;
    try {
      focus = await client.read(job.focus);
    } catch (e) {
      if (e instanceof FhirServerError && (e.status === 404 || e.status === 410)) return `ignored: ${job.focus} no longer exists`;
      throw e;
    }
    const echo = ownEcho(focus);
    if (echo) return `ignored: ${job.focus} is ${echo}`;
    const patient = patientOf(focus) ?? job.patient;
    if (!patient) return `ignored: ${job.focus} names no patient`;
    const patientId = patient.slice('Patient/'.length);
    const encounterRef = focus.resourceType === 'Encounter' ? `Encounter/${focus.id}` : (focus as { encounter?: Reference }).encounter?.reference;
    const encounterId = encounterRef && typeAndId(encounterRef).startsWith('Encounter/') ? typeAndId(encounterRef).slice('Encounter/'.length) : undefined;
    const eventId = `${reg.id}/${job.key}`;

    try {
      await client.read(patient);
    } catch (e) {
      if (e instanceof FhirServerError && (e.status === 404 || e.status === 410)) return `ignored: ${job.focus} names ${patient}, which the server does not hold`;
      throw e;
    }
    const written = await client.searchAll(`RequestGroup?identifier=${encodeURIComponent(`${SYSTEMS.requestGroup}|${eventId}`)}`);
    // Also after a crash between the write-back and the clean-up: the repeat finishes the clean-up.
    if (written.length > 0) return `already written: RequestGroup/${written[0].id}${await this.retireSuperseded(client, patient)}`;

    const token = await this.tokens!.token(reg.fhirServer);
    const request: CdsRequest = {
      hook: 'order-select',
      hookInstance: uuidOf(eventId),
      fhirServer: reg.fhirServer,
      fhirAuthorization: { access_token: token, token_type: 'Bearer', expires_in: 300, scope: this.config.subscriptions.scope, subject: this.config.subscriptions.clientId! },
      context: { userId: 'Device/leader-cds', patientId, ...(encounterId ? { encounterId } : {}), selections: [], draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [] } },
    };
    const { review, cards } = await this.cds.cardsFor(request, SUBSCRIPTION_QUERIES, publicBaseOf(this.config), {});
    const active = await client.searchAll(`RequestGroup?subject=${encodeURIComponent(patient)}&status=active${encounterId ? `&encounter=${encodeURIComponent(`Encounter/${encounterId}`)}` : ''}`) as RequestGroup[];
    const supersede = active.filter((rg) => rg.identifier?.some((i) => i.system === SYSTEMS.requestGroup && i.value !== eventId) && (encounterId !== undefined || rg.encounter === undefined));
    const manifest = this.model.manifest;
    const bundle = writeBackTransaction({
      eventId, patientId, ...(encounterId ? { encounterId } : {}), cards, interactions: review.result.interactions,
      model: { name: manifest.name, version: manifest.version }, authoredOn: new Date().toISOString(), supersede,
      reason: `${job.focus}${job.eventNumber !== undefined ? ` (event ${job.eventNumber})` : ` (version ${job.key.split('/').pop()})`}`,
    });
    const response = await client.send('POST', '', bundle) as Bundle | undefined;
    const location = response?.entry?.[0]?.response?.location;
    const proposals = bundle.entry!.filter((e) => e.resource?.resourceType === 'MedicationRequest').length;
    // Just revoked here: no need to search for them (the repeat path above searches).
    const retired = supersede.length > 0 ? await this.retireSuperseded(client, patient, supersede) : '';
    return `written: ${location ? typeAndId(location) : 'RequestGroup'} with ${proposals} proposal(s)${supersede.length > 0 ? `, revoked ${supersede.map((rg) => `RequestGroup/${rg.id}`).join(', ')}` : ''}${retired}`;
  }

  /**
   * Cancels the draft proposals and DetectedIssues of revoked recommendations (see retireTransactions):
   * those given, else every revoked one of the patient's.
   */
  private async retireSuperseded(client: FhirServerClient, patient: string, revokedNow?: RequestGroup[]): Promise<string> {
    const subject = encodeURIComponent(patient);
    const revoked = revokedNow ?? await client.searchAll(`RequestGroup?subject=${subject}&status=revoked`) as RequestGroup[];
    if (revoked.length === 0) return '';
    const proposals = await client.searchAll(`MedicationRequest?subject=${subject}&status=draft&intent=proposal`) as MedicationRequest[];
    // R4 has no DetectedIssue status search parameter: filtered in retireTransactions.
    const issues = await client.searchAll(`DetectedIssue?patient=${subject}`) as DetectedIssue[];
    const bundles = retireTransactions(revoked, proposals, issues);
    for (const bundle of bundles) await client.send('POST', '', bundle);
    const count = bundles.reduce((n, b) => n + (b.entry?.length ?? 0), 0);
    return count > 0 ? `; cancelled ${count} proposal(s)/DetectedIssue(s) of revoked recommendations` : '';
  }

  /** Changes since the last re-query, queued as events keyed by version (repeats are ignored by the store). */
  private async poll(reg: Registration): Promise<string> {
    const client = await this.client(reg.fhirServer);
    const started = Date.now();
    const since = reg.pollSince;
    const queries = reg.kind === 'classic'
      ? [`${reg.criteria}${reg.criteria.includes('?') ? (reg.criteria.endsWith('?') ? '' : '&') : '?'}`]
      : TRIGGER_TYPES.map((t) => `${t}?${reg.patientFilter ? `patient=${encodeURIComponent(reg.patientFilter)}&` : ''}`);
    const events: NotificationEvent[] = [];
    for (const q of queries) {
      for (const r of await client.searchAll(`${q}_lastUpdated=${encodeURIComponent(`ge${since}`)}`)) {
        if (!r.id || ownEcho(r)) continue;
        const version = r.meta?.versionId ?? r.meta?.lastUpdated ?? 'unversioned';
        const patient = patientOf(r);
        events.push({ key: `${r.resourceType}/${r.id}/_history/${version}`, focus: `${r.resourceType}/${r.id}`, ...(patient ? { patient } : {}) });
      }
    }
    const added = events.length > 0 ? this.store.record(reg.id, { events }) : 0;
    this.store.setPollSince(reg.id, new Date(started - POLL_OVERLAP_MS).toISOString());
    return `re-query since ${since}: ${events.length} change(s), ${added} new`;
  }

  /** Gaps and silent subscriptions: $status, then $events for what is missing, else a re-query. */
  private async watch(): Promise<void> {
    const now = Date.now();
    for (const reg of this.store.registrations()) {
      if (reg.kind !== 'topic' || !reg.subscriptionId) continue;
      const heartbeatMs = (reg.heartbeatSeconds ?? 0) * 1000;
      const silentFor = now - (reg.lastHeardMs ?? reg.createdMs);
      if (heartbeatMs > 0 && silentFor > 2 * heartbeatMs && now - (this.statusCheckedAt.get(reg.id) ?? 0) > heartbeatMs) {
        this.statusCheckedAt.set(reg.id, now);
        await this.checkStatus(reg).catch((e) => this.logger.warn({ registration: reg.id, error: failureOf(e).message }, 'subscriptions: $status failed'));
      }
      const missing = this.store.missingEventNumbers(reg.id);
      if (missing.length === 0) {
        this.gapSince.delete(reg.id);
        continue;
      }
      const since = this.gapSince.get(reg.id) ?? now;
      this.gapSince.set(reg.id, since);
      if (now - since < GAP_GRACE_MS) continue;
      this.gapSince.delete(reg.id);
      await this.recoverEvents(reg, missing[0], missing[missing.length - 1]);
    }
  }

  private async checkStatus(reg: Registration): Promise<void> {
    const client = await this.client(reg.fhirServer);
    const answer = await client.read(`Subscription/${reg.subscriptionId}/$status`) as Resource;
    const bundle: unknown = answer.resourceType === 'Parameters' ? { resourceType: 'Bundle', type: 'history', entry: [{ resource: answer }] } : answer;
    const status = parseNotification(bundle);
    if (status.kind !== 'topic') return;
    this.store.noteStatus(reg.id, status.eventsSinceStart);
    this.logger.info({ registration: reg.id, status: status.status, eventsSinceStart: status.eventsSinceStart }, 'subscriptions: $status after a missed heartbeat');
  }

  /** Fetch events `from..until` with $events; if the server cannot, re-query what changed instead. */
  private async recoverEvents(reg: Registration, from: number, until: number): Promise<void> {
    try {
      const client = await this.client(reg.fhirServer);
      const answer = await client.read(`Subscription/${reg.subscriptionId}/$events?eventsSinceNumber=${from}&eventsUntilNumber=${until}`);
      const parsed = parseNotification(answer);
      const added = this.store.record(reg.id, { events: parsed.events, ...(parsed.kind === 'topic' && parsed.eventsSinceStart !== undefined ? { eventsSinceStart: parsed.eventsSinceStart } : {}) });
      // Events the server no longer holds cannot come back: a re-query covers them.
      const stillMissing = this.store.missingEventNumbers(reg.id).filter((n) => n >= from && n <= until);
      if (stillMissing.length > 0) this.store.queuePoll(reg.id);
      this.logger.info({ registration: reg.id, from, until, added, stillMissing: stillMissing.length }, 'subscriptions: recovered missing events with $events');
    } catch (e) {
      this.store.queuePoll(reg.id);
      this.logger.warn({ registration: reg.id, from, until, error: failureOf(e).message }, 'subscriptions: $events failed; re-query queued');
    }
  }

  private async client(fhirServer: string): Promise<FhirServerClient> {
    if (!this.tokens) throw new BackendTokenError('no backend-services client configured (SUBSCRIPTIONS_CLIENT_ID, SUBSCRIPTIONS_PRIVATE_KEY_FILE)', false);
    const token = await this.tokens.token(fhirServer);
    return new FhirServerClient(fhirServer, {
      bearerToken: token, timeoutMs: this.config.fhirTimeoutMs, maxResponseBytes: this.config.fhirMaxResponseBytes,
      maxPages: this.config.fhirMaxPages, maxResources: this.config.maxResourcesPerKey,
    });
  }
}

/** What a resource this service wrote is ("a leader-cds proposal"), or undefined for anyone else's. */
export function ownEcho(resource: Resource): string | undefined {
  const ids = (resource as { identifier?: Identifier[] }).identifier ?? [];
  if (ids.some((i) => i.system?.startsWith(WRITE_BACK_SYSTEM_PREFIX))) return 'a leader-cds write-back';
  if (resource.resourceType === 'MedicationRequest' && (resource as MedicationRequest).intent === 'proposal') return 'a proposal (not an order)';
  return undefined;
}

/** A job failure in one line, and whether trying again later can help (server errors, timeouts, throttling, an expired token). */
export function failureOf(e: unknown): { message: string; retryable: boolean } {
  if (e instanceof FhirServerError) {
    const s = e.status;
    const retryable = e.reason === 'timeout' || e.reason === 'network' || s === undefined && e.reason !== 'protocol' && e.reason !== 'limit'
      || s === 401 || s === 408 || s === 409 || s === 412 || s === 429 || (s !== undefined && s >= 500);
    return { message: e.message, retryable };
  }
  if (e instanceof BackendTokenError) return { message: e.message, retryable: e.retryable };
  if (e instanceof NotificationError) return { message: e.message, retryable: false };
  if (e instanceof HttpException) {
    // The hooks' own errors: 412 = the FHIR server could not give the data now (retry); 400/413/422 will not change.
    const body = e.getResponse() as { issue?: { diagnostics?: string }[] } | string;
    const text = typeof body === 'string' ? body : body.issue?.map((i) => i.diagnostics).filter(Boolean).join('; ') || e.message;
    return { message: `HTTP ${e.getStatus()}: ${text}`, retryable: e.getStatus() === 412 || e.getStatus() >= 500 };
  }
  return { message: (e as Error)?.message ?? String(e), retryable: true };
}
