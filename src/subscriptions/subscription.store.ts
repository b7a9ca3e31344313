import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { NotificationEvent } from './notification.parser';

/** A Subscription this service placed on a FHIR server: where notifications for it arrive and how they are checked. */
export interface Registration {
  id: string;
  fhirServer: string;
  kind: 'topic' | 'classic';
  /** The topic canonical (topic) or the search criteria (classic). */
  criteria: string;
  /** Sent back by the server in a channel header (`Authorization: Bearer <secret>`) or as the HMAC key of `X-Signature`. */
  secret: string;
  /** The Subscription's id on the FHIR server, once created. */
  subscriptionId?: string;
  /** backport-heartbeat-period, seconds. */
  heartbeatSeconds?: number;
  /** `Patient/id` of the subscription's filter, if any. */
  patientFilter?: string;
  /** Highest event number heard of (a notification's own or a count in a status). */
  knownEvents: number;
  lastHeardMs?: number;
  /** Re-queries look for changes after this instant (ISO). */
  pollSince: string;
  createdMs: number;
}

export type JobStatus = 'pending' | 'processing' | 'done' | 'dead';
/** `event`: act on one change; `poll`: re-query the server for changes (empty payloads, gaps that $events could not fill). */
export type JobSource = 'event' | 'poll';

export interface Job {
  id: number;
  registration: string;
  key: string;
  source: JobSource;
  eventNumber?: number;
  focus?: string;
  patient?: string;
  status: JobStatus;
  attempts: number;
  dueMs: number;
  receivedMs: number;
  finishedMs?: number;
  lastError?: string;
  outcome?: string;
}

interface JobRow {
  id: number; registration: string; dedupe_key: string; source: JobSource; event_number: number | null; focus: string | null; patient: string | null;
  status: JobStatus; attempts: number; due_ms: number; received_ms: number; finished_ms: number | null; last_error: string | null; outcome: string | null;
}
interface RegistrationRow {
  id: string; fhir_server: string; kind: 'topic' | 'classic'; criteria: string; secret: string; subscription_id: string | null; heartbeat_s: number | null;
  patient_filter: string | null; known_events: number; last_heard_ms: number | null; poll_since: string; created_ms: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS registrations (
  id TEXT PRIMARY KEY,
  fhir_server TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('topic', 'classic')),
  criteria TEXT NOT NULL,
  secret TEXT NOT NULL,
  subscription_id TEXT,
  heartbeat_s INTEGER,
  patient_filter TEXT,
  known_events INTEGER NOT NULL DEFAULT 0,
  last_heard_ms INTEGER,
  poll_since TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  registration TEXT NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
  dedupe_key TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('event', 'poll')),
  event_number INTEGER,
  focus TEXT,
  patient TEXT,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'done', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  due_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  last_error TEXT,
  outcome TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_dedupe ON jobs (registration, dedupe_key);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, due_ms);
CREATE INDEX IF NOT EXISTS jobs_event_number ON jobs (registration, event_number);
`;

/**
 * The subscriber's durable state in SQLite (WAL, synchronous FULL: a notification is answered 2xx only
 * after its row is on disk). Registrations, and one job per event, unique on (registration, key), so a
 * repeated delivery inserts nothing. Jobs are claimed one at a time; a job left `processing` by a killed
 * process goes back to `pending` on the next open (its write-back is idempotent, so running it again is safe).
 */
export class SubscriptionStore {
  private readonly db: Database.Database;
  private readonly stmt: {
    registration: Database.Statement<[string], RegistrationRow>;
    insertJob: Database.Statement<[string, string, JobSource, number | null, string | null, string | null, number, number]>;
    claim: Database.Statement<[number], JobRow>;
    pendingPoll: Database.Statement<[string], { n: number }>;
  };

  private constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    this.stmt = {
      registration: this.db.prepare('SELECT * FROM registrations WHERE id = ?'),
      insertJob: this.db.prepare('INSERT OR IGNORE INTO jobs (registration, dedupe_key, source, event_number, focus, patient, due_ms, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      claim: this.db.prepare(`UPDATE jobs SET status = 'processing', attempts = attempts + 1
        WHERE id = (SELECT id FROM jobs WHERE status = 'pending' AND due_ms <= ? ORDER BY due_ms, id LIMIT 1) RETURNING *`),
      pendingPoll: this.db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE registration = ? AND source = 'poll' AND status IN ('pending', 'processing')`),
    };
  }

  /** Opens (creating if needed) the database; `recover`: put jobs a killed worker left `processing` back to `pending`. */
  static open(file: string, opts: { recover?: boolean } = {}): SubscriptionStore {
    const store = new SubscriptionStore(file);
    if (opts.recover) store.db.prepare(`UPDATE jobs SET status = 'pending' WHERE status = 'processing'`).run();
    return store;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** A new registration with a fresh id and a 256-bit secret (the Subscription is created after, naming its endpoint). */
  createRegistration(r: { fhirServer: string; kind: Registration['kind']; criteria: string; heartbeatSeconds?: number; patientFilter?: string }, now = Date.now()): Registration {
    const reg: Registration = {
      id: randomUUID(), fhirServer: r.fhirServer, kind: r.kind, criteria: r.criteria, secret: randomBytes(32).toString('base64url'),
      ...(r.heartbeatSeconds ? { heartbeatSeconds: r.heartbeatSeconds } : {}),
      ...(r.patientFilter ? { patientFilter: r.patientFilter } : {}),
      knownEvents: 0, pollSince: new Date(now).toISOString(), createdMs: now,
    };
    this.db.prepare(`INSERT INTO registrations (id, fhir_server, kind, criteria, secret, heartbeat_s, patient_filter, poll_since, created_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(reg.id, reg.fhirServer, reg.kind, reg.criteria, reg.secret, reg.heartbeatSeconds ?? null, reg.patientFilter ?? null, reg.pollSince, now);
    return reg;
  }

  setSubscriptionId(registrationId: string, subscriptionId: string): void {
    this.db.prepare('UPDATE registrations SET subscription_id = ? WHERE id = ?').run(subscriptionId, registrationId);
  }

  deleteRegistration(registrationId: string): void {
    this.db.prepare('DELETE FROM registrations WHERE id = ?').run(registrationId);
  }

  registration(id: string): Registration | undefined {
    const row = this.stmt.registration.get(id);
    return row ? registrationOf(row) : undefined;
  }

  registrations(): Registration[] {
    return (this.db.prepare('SELECT * FROM registrations ORDER BY created_ms').all() as RegistrationRow[]).map(registrationOf);
  }

  /**
   * Records what one notification says, in one transaction: its events as jobs (repeats ignored), a poll
   * job when it names no focus, the time it was heard and the highest event count it reveals. Returns
   * how many new jobs were queued.
   */
  record(registrationId: string, n: { events: NotificationEvent[]; eventsSinceStart?: number; poll?: boolean }, now = Date.now()): number {
    return this.db.transaction(() => {
      let added = 0;
      for (const e of n.events) {
        added += this.stmt.insertJob.run(registrationId, e.key, 'event', e.eventNumber ?? null, e.focus ?? null, e.patient ?? null, now, now).changes;
      }
      if (n.poll) added += this.queuePoll(registrationId, now);
      const highest = Math.max(n.eventsSinceStart ?? 0, ...n.events.map((e) => e.eventNumber ?? 0));
      this.db.prepare('UPDATE registrations SET last_heard_ms = ?, known_events = MAX(known_events, ?) WHERE id = ?').run(now, highest, registrationId);
      return added;
    })();
  }

  /** A re-query job, unless one is already waiting (it will see this change too). */
  queuePoll(registrationId: string, now = Date.now()): number {
    if (this.stmt.pendingPoll.get(registrationId)!.n > 0) return 0;
    return this.stmt.insertJob.run(registrationId, `poll-${now}-${randomUUID()}`, 'poll', null, null, null, now, now).changes;
  }

  /** Event numbers 1..known that have no job yet (lost or not yet arrived). */
  missingEventNumbers(registrationId: string): number[] {
    const reg = this.registration(registrationId);
    if (!reg) return [];
    // The common case, checked on the index without reading the numbers: no gap.
    const { n } = this.db.prepare('SELECT COUNT(DISTINCT event_number) AS n FROM jobs WHERE registration = ? AND event_number BETWEEN 1 AND ?').get(registrationId, reg.knownEvents) as { n: number };
    if (n === reg.knownEvents) return [];
    const have = new Set((this.db.prepare('SELECT event_number AS n FROM jobs WHERE registration = ? AND event_number IS NOT NULL').all(registrationId) as { n: number }[]).map((r) => r.n));
    const missing: number[] = [];
    for (let i = 1; i <= reg.knownEvents; i++) if (!have.has(i)) missing.push(i);
    return missing;
  }

  /** The oldest due pending job, now `processing` (its attempt counted). */
  claim(now = Date.now()): Job | undefined {
    const row = this.stmt.claim.get(now);
    return row ? jobOf(row) : undefined;
  }

  /** Milliseconds until the next pending job is due (undefined when none is waiting). */
  nextDueIn(now = Date.now()): number | undefined {
    const row = this.db.prepare(`SELECT MIN(due_ms) AS due FROM jobs WHERE status = 'pending'`).get() as { due: number | null };
    return row.due === null ? undefined : Math.max(0, row.due - now);
  }

  complete(jobId: number, outcome: string, now = Date.now()): void {
    this.db.prepare(`UPDATE jobs SET status = 'done', finished_ms = ?, outcome = ?, last_error = NULL WHERE id = ?`).run(now, outcome, jobId);
  }

  /** Back to pending after `delayMs`, or a dead letter when `dead`. */
  fail(jobId: number, error: string, next: { dead: true } | { delayMs: number }, now = Date.now()): void {
    if ('dead' in next) this.db.prepare(`UPDATE jobs SET status = 'dead', finished_ms = ?, last_error = ? WHERE id = ?`).run(now, error.slice(0, 2000), jobId);
    else this.db.prepare(`UPDATE jobs SET status = 'pending', due_ms = ?, last_error = ? WHERE id = ?`).run(now + next.delayMs, error.slice(0, 2000), jobId);
  }

  /** Dead letters back to the queue (all, or one registration's), attempts reset. Returns how many. */
  retryDeadLetters(registrationId?: string, now = Date.now()): number {
    const sql = `UPDATE jobs SET status = 'pending', attempts = 0, due_ms = ?, finished_ms = NULL WHERE status = 'dead'${registrationId ? ' AND registration = ?' : ''}`;
    return (registrationId ? this.db.prepare(sql).run(now, registrationId) : this.db.prepare(sql).run(now)).changes;
  }

  jobs(filter: { status?: JobStatus; registration?: string } = {}): Job[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.status) { where.push('status = ?'); args.push(filter.status); }
    if (filter.registration) { where.push('registration = ?'); args.push(filter.registration); }
    return (this.db.prepare(`SELECT * FROM jobs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`).all(...args) as JobRow[]).map(jobOf);
  }

  /** Job counts per status for one registration. */
  counts(registrationId: string): Record<JobStatus, number> {
    const out: Record<JobStatus, number> = { pending: 0, processing: 0, done: 0, dead: 0 };
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM jobs WHERE registration = ? GROUP BY status').all(registrationId) as { status: JobStatus; n: number }[]) out[r.status] = r.n;
    return out;
  }

  setPollSince(registrationId: string, since: string): void {
    this.db.prepare('UPDATE registrations SET poll_since = ? WHERE id = ?').run(since, registrationId);
  }

  /** The status a $status answer revealed: the server's event count and when it was heard. */
  noteStatus(registrationId: string, eventsSinceStart: number | undefined, now = Date.now()): void {
    this.db.prepare('UPDATE registrations SET last_heard_ms = ?, known_events = MAX(known_events, ?) WHERE id = ?').run(now, eventsSinceStart ?? 0, registrationId);
  }
}

function registrationOf(r: RegistrationRow): Registration {
  return {
    id: r.id, fhirServer: r.fhir_server, kind: r.kind, criteria: r.criteria, secret: r.secret,
    ...(r.subscription_id ? { subscriptionId: r.subscription_id } : {}),
    ...(r.heartbeat_s ? { heartbeatSeconds: r.heartbeat_s } : {}),
    ...(r.patient_filter ? { patientFilter: r.patient_filter } : {}),
    knownEvents: r.known_events,
    ...(r.last_heard_ms !== null ? { lastHeardMs: r.last_heard_ms } : {}),
    pollSince: r.poll_since, createdMs: r.created_ms,
  };
}

function jobOf(r: JobRow): Job {
  return {
    id: r.id, registration: r.registration, key: r.dedupe_key, source: r.source,
    ...(r.event_number !== null ? { eventNumber: r.event_number } : {}),
    ...(r.focus !== null ? { focus: r.focus } : {}),
    ...(r.patient !== null ? { patient: r.patient } : {}),
    status: r.status, attempts: r.attempts, dueMs: r.due_ms, receivedMs: r.received_ms,
    ...(r.finished_ms !== null ? { finishedMs: r.finished_ms } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    ...(r.outcome !== null ? { outcome: r.outcome } : {}),
  };
}
