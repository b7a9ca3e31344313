import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CdsFeedbackItem } from '../cds-hooks.types';
import { FeedbackStore } from './feedback.store';

const item = (card: string, outcome: 'accepted' | 'overridden', at = '2026-11-27T10:00:00Z', extra: Partial<CdsFeedbackItem> = {}): CdsFeedbackItem =>
  ({ card, outcome, outcomeTimestamp: at, ...(outcome === 'accepted' ? { acceptedSuggestions: [{ id: 's1' }] } : {}), ...extra }) as CdsFeedbackItem;

describe(FeedbackStore.name, () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'feedback-store-'));
    file = path.join(dir, 'feedback.jsonl');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('keeps running tallies that survive a restart, idempotent on card + outcome + instant', async () => {
    const sut = await FeedbackStore.open(file);
    await expect(sut.append('svc', [item('a', 'accepted'), item('b', 'overridden', '2026-11-27T11:00:00Z', { overrideReason: { reason: { code: 'not-indicated', system: 'urn:r' } } } as never)])).resolves.toEqual({ stored: 2, duplicates: 0 });
    await expect(sut.append('svc', [item('a', 'accepted', '2026-11-27T10:00:00.000Z')])).resolves.toEqual({ stored: 0, duplicates: 1 });
    await sut.close();
    const reopened = await FeedbackStore.open(file);
    expect(reopened.summary('svc')).toEqual({
      serviceId: 'svc', total: 2, accepted: 1, overridden: 1, cards: 2, acceptedSuggestions: 1,
      overrideReasons: [{ code: 'not-indicated', system: 'urn:r', count: 1 }], withUserComment: 0,
      firstOutcomeAt: '2026-11-27T10:00:00Z', lastOutcomeAt: '2026-11-27T11:00:00Z',
    });
    await expect(reopened.append('svc', [item('a', 'accepted')])).resolves.toEqual({ stored: 0, duplicates: 1 });
    expect(reopened.summary('other').total).toBe(0);
    await reopened.close();
  });

  it('quarantines a corrupt middle line (once, reported) instead of refusing to start, and cuts a torn last line', async () => {
    const good = (card: string) => JSON.stringify({ serviceId: 'svc', card, outcome: 'overridden', outcomeTimestamp: '2026-01-01T00:00:00Z', receivedAt: '2026-01-01T00:00:01Z' });
    await fs.writeFile(file, `${good('a')}\n{not json\n["valid json, not feedback"]\n${good('b')}\n{"serviceId":"svc","ca`);
    const repairs: string[] = [];
    const sut = await FeedbackStore.open(file, { onRepair: (m) => repairs.push(m) });
    expect(sut.summary('svc').total).toBe(2);
    expect(repairs).toEqual([
      `${file}:2: corrupt feedback line copied to ${path.join(dir, 'feedback.quarantine.jsonl')} and skipped`,
      `${file}:3: corrupt feedback line copied to ${path.join(dir, 'feedback.quarantine.jsonl')} and skipped`,
      `${file}: torn last line removed`,
    ]);
    await sut.append('svc', [item('c', 'overridden')]);
    await sut.close();
    const again: string[] = [];
    const reopened = await FeedbackStore.open(file, { onRepair: (m) => again.push(m) });
    expect(reopened.summary('svc').total).toBe(3);
    expect(again).toEqual([]);
    const quarantine = (await fs.readFile(path.join(dir, 'feedback.quarantine.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { line: number; text: string });
    expect(quarantine.map((q) => [q.line, q.text])).toEqual([[2, '{not json'], [3, '["valid json, not feedback"]']]);
    await reopened.close();
  });

  it('remembers at most dedupeWindow keys (bounded memory), and takes an unreadable timestamp as written', async () => {
    const sut = await FeedbackStore.open(file, { dedupeWindow: 1000 });
    const items = Array.from({ length: 1500 }, (_, i) => item(`c${i}`, 'overridden'));
    await expect(sut.append('svc', items)).resolves.toEqual({ stored: 1500, duplicates: 0 });
    // c1499 is inside the window, c0 fell out of it: a repeat of c0 is stored again.
    await expect(sut.append('svc', [item('c1499', 'overridden'), item('c0', 'overridden')])).resolves.toEqual({ stored: 1, duplicates: 1 });
    await expect(sut.append('svc', [item('w', 'overridden', '2026-W48-1'), item('w', 'overridden', '2026-W48-1')])).resolves.toEqual({ stored: 1, duplicates: 1 });
    expect(sut.size).toBe(1502);
    await sut.close();
  });
});
