import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { CdsCoding, CdsFeedbackItem, CdsFeedbackSuggestion } from '../cds-hooks.types';

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

/**
 * Append-only, fsync'd JSONL feedback log that survives restarts. Idempotent on
 * (service, card uuid, outcome, outcomeTimestamp): a repeated item is acknowledged, not stored twice.
 * Writes are serialised so the dedupe check and the append cannot interleave.
 */
export class FeedbackStore {
  private readonly entries: StoredFeedback[] = [];
  private readonly keys = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly file: string, private handle: fs.FileHandle) {}

  static async open(file: string, onRepair?: (message: string) => void): Promise<FeedbackStore> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    let text = '';
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new FeedbackStoreError(`${file}: cannot read feedback log (${(e as Error).message})`);
    }
    // When the text ends with a newline, the last element is '' and is skipped.
    const lines = text.split('\n');
    const parsed: StoredFeedback[] = [];
    let tornTail = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.trim() === '') continue;
      try {
        parsed.push(JSON.parse(line) as StoredFeedback);
      } catch {
        if (i !== lines.length - 1) throw new FeedbackStoreError(`${file}:${i + 1}: corrupt feedback line (not JSON)`);
        // A crash mid-append leaves a torn last line: cut it off so later appends start on a clean line.
        tornTail = true;
        await fs.truncate(file, Buffer.byteLength(text) - Buffer.byteLength(line));
        onRepair?.(`${file}:${i + 1}: torn last line removed`);
      }
    }
    if (!tornTail && text !== '' && !text.endsWith('\n')) await fs.appendFile(file, '\n');
    const handle = await fs.open(file, 'a');
    const store = new FeedbackStore(file, handle);
    for (const e of parsed) store.remember(e);
    return store;
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
    const mine = this.entries.filter((e) => e.serviceId === serviceId);
    const reasons = new Map<string, { code: string; system?: string; display?: string; count: number }>();
    let acceptedSuggestions = 0;
    let withUserComment = 0;
    for (const e of mine) {
      acceptedSuggestions += e.acceptedSuggestions?.length ?? 0;
      if (e.overrideReason?.userComment) withUserComment++;
      const r = e.overrideReason?.reason;
      if (r) {
        const k = `${r.system ?? ''}|${r.code}`;
        const agg = reasons.get(k) ?? { code: r.code, ...(r.system ? { system: r.system } : {}), ...(r.display ? { display: r.display } : {}), count: 0 };
        agg.count++;
        reasons.set(k, agg);
      }
    }
    const times = mine.map((e) => e.outcomeTimestamp).sort();
    return {
      serviceId,
      total: mine.length,
      accepted: mine.filter((e) => e.outcome === 'accepted').length,
      overridden: mine.filter((e) => e.outcome === 'overridden').length,
      cards: new Set(mine.map((e) => e.card)).size,
      acceptedSuggestions,
      overrideReasons: [...reasons.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
      withUserComment,
      ...(times.length > 0 ? { firstOutcomeAt: times[0], lastOutcomeAt: times[times.length - 1] } : {}),
    };
  }

  get size(): number {
    return this.entries.length;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.handle.close();
  }

  private remember(e: StoredFeedback): void {
    this.entries.push(e);
    this.keys.add(keyOf(e));
  }
}

function keyOf(e: Pick<StoredFeedback, 'serviceId' | 'card' | 'outcome' | 'outcomeTimestamp'>): string {
  return `${e.serviceId}\u0000${e.card}\u0000${e.outcome}\u0000${new Date(e.outcomeTimestamp).toISOString()}`;
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
