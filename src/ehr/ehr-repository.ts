import { MemoryRepository } from '@medplum/fhir-router';
import type { Resource } from '@medplum/fhirtypes';

/** MemoryRepository's storage, which it keeps private; read here only to undo a failed transaction. */
interface MemoryStorage {
  resources: Map<string, Map<string, Resource>>;
  history: Map<string, Map<string, Resource[]>>;
}

interface JournalEntry {
  type: string;
  id: string;
  before: Resource | undefined;
  historyLength: number;
}

/**
 * Medplum's in-memory FHIR store with two things it lacks: transactions that roll back (its
 * `withTransaction` just runs the callback, so a failing entry would leave the earlier ones
 * written), and one-at-a-time access (`exclusive`), so a request never sees another's half-done
 * transaction.
 */
export class EhrRepository extends MemoryRepository {
  private journal: JournalEntry[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** Runs `work` after every earlier call has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  override async createResource<T extends Resource>(resource: T): Promise<T & { id: string }> {
    if (this.journal && resource.id) this.remember(resource.resourceType, resource.id);
    const created = await super.createResource(resource);
    if (this.journal && !resource.id) this.journal.push({ type: created.resourceType, id: created.id, before: undefined, historyLength: 0 });
    return created;
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    if (this.journal) this.remember(resourceType, id);
    await super.deleteResource(resourceType, id);
  }

  override async withTransaction<TResult>(callback: (client: undefined) => Promise<TResult>): Promise<TResult> {
    if (this.journal) return callback(undefined);
    this.journal = [];
    try {
      const result = await callback(undefined);
      this.journal = undefined;
      return result;
    } catch (e) {
      this.rollBack(this.journal ?? []);
      this.journal = undefined;
      throw e;
    }
  }

  /** How many resources of each type are stored. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [type, byId] of this.storage().resources) if (byId.size > 0) out[type] = byId.size;
    return out;
  }

  private storage(): MemoryStorage {
    return this as unknown as MemoryStorage;
  }

  private remember(type: string, id: string): void {
    const { resources, history } = this.storage();
    this.journal?.push({ type, id, before: resources.get(type)?.get(id), historyLength: history.get(type)?.get(id)?.length ?? 0 });
  }

  private rollBack(journal: JournalEntry[]): void {
    const { resources, history } = this.storage();
    for (const entry of [...journal].reverse()) {
      if (entry.before) resources.get(entry.type)?.set(entry.id, entry.before);
      else resources.get(entry.type)?.delete(entry.id);
      const versions = history.get(entry.type)?.get(entry.id);
      if (versions) versions.length = entry.historyLength;
      if (versions && entry.historyLength === 0) history.get(entry.type)?.delete(entry.id);
    }
  }
}
