import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { CdsCoding, CdsFeedbackItem, CdsFeedbackSuggestion } from '../cds-hooks.types';
import { sha256Hex } from '../../common/sha256';

/** One feedback entry as stored (one JSON line in feedback.jsonl). */
export interface StoredFeedback {
  serviceId: string;
  card: string;
  outcome: 'accepted' | 'overridden';
  outcomeTimestamp: string;
  acceptedSuggestions?: string[];
  /** The class and product of each suggestion the outcome is about (accepted ones, or the declined card's). */
  suggestions?: CdsFeedbackSuggestion[];
  overrideReason?: { reason?: CdsCoding; userComment?: string };
  receivedAt: string;
}

export interface FeedbackSummary {
  serviceId: string;
  total: number;
  accepted: number;
  overridden: number;
  cards: number;
  acceptedSuggestions: number;
  overrideReasons: { code: string; system?: string; display?: string; count: number }[];
  withUserComment: number;
  firstOutcomeAt?: string;
  lastOutcomeAt?: string;
}

export class FeedbackStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedbackStoreError';
  }
}

export interface FeedbackStoreOptions {
  /** Problems found and repaired at start (torn last line cut, corrupt lines quarantined). */
  onRepair?: (message: string) => void;
  /** Idempotency keys remembered, newest kept (default 200,000): a repeat older than that is stored again. */
  dedupeWindow?: number;
}

/** Distinct override reasons kept per service; more are counted under `(other)`. */
const MAX_REASONS = 1000;

/** Running per-service counts: the summary is read from these, never by rescanning the log. */
class ServiceTally {
  total = 0;
  accepted = 0;
  overridden = 0;
  cards = 0;
  acceptedSuggestions = 0;
  withUserComment = 0;
  first?: string;
  last?: string;
  readonly reasons = new Map<string, { code: string; system?: string; display?: string; count: number }>();

  add(e: StoredFeedback, newCard: boolean): void {
    this.total++;
    if (e.outcome === 'accepted') this.accepted++;
    else this.overridden++;
    if (newCard) this.cards++;
    this.acceptedSuggestions += Array.isArray(e.acceptedSuggestions) ? e.acceptedSuggestions.length : 0;
    if (e.overrideReason?.userComment) this.withUserComment++;
    const t = e.outcomeTimestamp;
    if (typeof t === 'string') {
      if (this.first === undefined || t < this.first) this.first = t;
      if (this.last === undefined || t > this.last) this.last = t;
    }
    const r = e.overrideReason?.reason;
    if (r && typeof r.code === 'string') {
      let k = `${r.system ?? ''}|${r.code}`;
      if (!this.reasons.has(k) && this.reasons.size >= MAX_REASONS) k = '|(other)';
      const agg = this.reasons.get(k) ?? (k === '|(other)' ? { code: '(other)', count: 0 } : { code: r.code, ...(r.system ? { system: r.system } : {}), ...(r.display ? { display: r.display } : {}), count: 0 });
      agg.count++;
      this.reasons.set(k, agg);
    }
  }
}

/**
 * A set that remembers at most `max` keys, forgetting the oldest first (a Map keeps insertion
 * order). Keys are 16-hex-character digests, so memory is bounded by `max`, not by what clients send.
 */
class BoundedKeySet {
  private readonly keys = new Set<string>();
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.keys.has(key);
  }
  get size(): number {
    return this.keys.size;
  }
  add(key: string): void {
    this.keys.add(key);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value as string);
  }
}

/**
 * Append-only, fsync'd JSONL feedback log that survives restarts. Idempotent on
 * (service, card uuid, outcome, outcomeTimestamp) within a window of the newest
 * `dedupeWindow` items: a repeated item is acknowledged, not stored twice. Writes are serialised
 * so the dedupe check and the append cannot interleave.
 *
 * Bounded: no entry is kept in memory, only running per-service counts and the digests of the
 * dedupe window; start-up streams the log line by line (any size), cuts a torn last line (a crash
 * mid-append) and copies any other unreadable line to `<log>.quarantine.jsonl` (once), reported,
 * never fatal.
 */
export class FeedbackStore {
  private readonly tallies = new Map<string, ServiceTally>();
  private readonly keys: BoundedKeySet;
  private readonly cards: BoundedKeySet;
  private queue: Promise<unknown> = Promise.resolve();
  private count = 0;

  private constructor(readonly file: string, private handle: fs.FileHandle, dedupeWindow: number) {
    this.keys = new BoundedKeySet(dedupeWindow);
    this.cards = new BoundedKeySet(dedupeWindow);
  }

  /** Item keys remembered for idempotency (at most the dedupe window; reported by the soak bench). */
  get rememberedKeys(): number {
    return this.keys.size;
  }

  static async open(file: string, opts: FeedbackStoreOptions | ((message: string) => void) = {}): Promise<FeedbackStore> {
    const options: FeedbackStoreOptions = typeof opts === 'function' ? { onRepair: opts } : opts;
    const onRepair = options.onRepair;
    await fs.mkdir(path.dirname(file), { recursive: true });
    let size = 0;
    try {
      size = (await fs.stat(file)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new FeedbackStoreError(`${file}: cannot read feedback log (${(e as Error).message})`);
    }
    const loader = new FeedbackStore(file, undefined as unknown as fs.FileHandle, options.dedupeWindow ?? 200_000);
    let tornAt: number | undefined;
    let endsWithNewline = true;
    if (size > 0) {
      const quarantine = `${file.replace(/\.jsonl$/, '')}.quarantine.jsonl`;
      const quarantined = await quarantinedOffsets(quarantine);
      let offset = 0;
      let lineNo = 0;
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
      for await (const line of lines) {
        lineNo++;
        const bytes = Buffer.byteLength(line);
        const start = offset;
        offset += bytes + 1;
        if (line.trim() === '') continue;
        let entry: StoredFeedback | undefined;
        try {
          entry = JSON.parse(line) as StoredFeedback;
        } catch {
          entry = undefined;
        }
        if (entry !== undefined && isStoredFeedback(entry)) {
          loader.remember(entry);
          continue;
        }
        if (start + bytes >= size) {
          // A crash mid-append leaves a torn last line (no newline after it): cut it off.
          tornAt = start;
          continue;
        }
        if (!quarantined.has(start)) {
          await fs.appendFile(quarantine, `${JSON.stringify({ offset: start, line: lineNo, text: line.slice(0, 10_000) })}\n`);
          onRepair?.(`${file}:${lineNo}: corrupt feedback line copied to ${quarantine} and skipped`);
        }
      }
      endsWithNewline = (await lastByte(file, size)) === 0x0a;
    }
    if (tornAt !== undefined) {
      await fs.truncate(file, tornAt);
      onRepair?.(`${file}: torn last line removed`);
    } else if (size > 0 && !endsWithNewline) {
      await fs.appendFile(file, '\n');
    }
    loader.handle = await fs.open(file, 'a');
    return loader;
  }

  /** Stores new items; resolves once they are on disk. Returns how many were new and how many repeats. */
  append(serviceId: string, items: CdsFeedbackItem[], receivedAt = new Date()): Promise<{ stored: number; duplicates: number }> {
    const run = this.queue.then(async () => {
      const fresh: StoredFeedback[] = [];
      const batchKeys = new Set<string>();
      for (const item of items) {
        const entry = toStored(serviceId, item, receivedAt.toISOString());
        const key = keyOf(entry);
        if (this.keys.has(key) || batchKeys.has(key)) continue;
        batchKeys.add(key);
        fresh.push(entry);
      }
      if (fresh.length > 0) {
        await this.handle.appendFile(fresh.map((e) => `${JSON.stringify(e)}\n`).join(''));
        await this.handle.sync();
        for (const e of fresh) this.remember(e);
      }
      return { stored: fresh.length, duplicates: items.length - fresh.length };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  summary(serviceId: string): FeedbackSummary {
    const t = this.tallies.get(serviceId) ?? new ServiceTally();
    return {
      serviceId,
      total: t.total,
      accepted: t.accepted,
      overridden: t.overridden,
      cards: t.cards,
      acceptedSuggestions: t.acceptedSuggestions,
      overrideReasons: [...t.reasons.values()].map((r) => ({ ...r })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
      withUserComment: t.withUserComment,
      ...(t.first !== undefined && t.last !== undefined ? { firstOutcomeAt: t.first, lastOutcomeAt: t.last } : {}),
    };
  }

  /** Items stored (over the whole log). */
  get size(): number {
    return this.count;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
  }

  private remember(e: StoredFeedback): void {
    this.count++;
    this.keys.add(keyOf(e));
    const card = digest(`${e.serviceId}\u0000${e.card}`);
    const newCard = !this.cards.has(card);
    if (newCard) this.cards.add(card);
    let tally = this.tallies.get(e.serviceId);
    if (tally === undefined) {
      tally = new ServiceTally();
      this.tallies.set(e.serviceId, tally);
    }
    tally.add(e, newCard);
  }
}

function isStoredFeedback(e: unknown): e is StoredFeedback {
  const x = e as StoredFeedback;
  return typeof x === 'object' && x !== null && typeof x.serviceId === 'string' && typeof x.card === 'string'
    && (x.outcome === 'accepted' || x.outcome === 'overridden') && typeof x.outcomeTimestamp === 'string';
}

/** Offsets already in the quarantine file (a corrupt line is copied once, not at every start). */
async function quarantinedOffsets(file: string): Promise<Set<number>> {
  const out = new Set<number>();
  try {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) {
      try {
        const o = (JSON.parse(line) as { offset?: unknown }).offset;
        if (typeof o === 'number') out.add(o);
      } catch {
        // A torn quarantine line only means that line may be copied again.
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return out;
}

async function lastByte(file: string, size: number): Promise<number> {
  const h = await fs.open(file, 'r');
  try {
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, size - 1);
    return b[0];
  } finally {
    await h.close();
  }
}

function digest(text: string): string {
  return sha256Hex(text).slice(0, 16);
}

/** The idempotency key (a digest); an outcomeTimestamp Date cannot read is keyed as written. */
function keyOf(e: Pick<StoredFeedback, 'serviceId' | 'card' | 'outcome' | 'outcomeTimestamp'>): string {
  const ms = Date.parse(e.outcomeTimestamp);
  const instant = Number.isNaN(ms) ? e.outcomeTimestamp : new Date(ms).toISOString();
  return digest(`${e.serviceId}\u0000${e.card}\u0000${e.outcome}\u0000${instant}`);
}

function toStored(serviceId: string, item: CdsFeedbackItem, receivedAt: string): StoredFeedback {
  const entry: StoredFeedback = { serviceId, card: item.card, outcome: item.outcome, outcomeTimestamp: item.outcomeTimestamp, receivedAt };
  if (item.acceptedSuggestions && item.acceptedSuggestions.length > 0) entry.acceptedSuggestions = item.acceptedSuggestions.map((s) => s.id);
  if (item.suggestions && item.suggestions.length > 0) entry.suggestions = item.suggestions;
  if (item.overrideReason) {
    const o: StoredFeedback['overrideReason'] = {};
    if (item.overrideReason.reason) {
      const r = item.overrideReason.reason;
      o.reason = { code: r.code, ...(r.system ? { system: r.system } : {}), ...(r.display ? { display: r.display } : {}) };
    }
    if (item.overrideReason.userComment) o.userComment = item.overrideReason.userComment;
    if (Object.keys(o).length > 0) entry.overrideReason = o;
  }
  return entry;
}
