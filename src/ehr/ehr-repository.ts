import { Operator, type SearchRequest } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';

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

export type WriteInteraction = 'create' | 'update' | 'delete';
/** Told of every committed write, in write order (a delete passes just `resourceType` and `id`). */
export type WriteListener = (resource: Resource & { id: string }, interaction: WriteInteraction) => void;

/** Reference search parameters that tie a resource to one patient (`patient=Patient/1`, `subject=Patient/1`). */
const PATIENT_PARAMS = new Set(['patient', 'subject', 'beneficiary']);

/**
 * Medplum's in-memory FHIR store with three things it lacks: transactions that roll back (its
 * `withTransaction` just runs the callback, so a failing entry would leave the earlier ones
 * written), one-at-a-time access (`exclusive`), so a request never sees another's half-done
 * transaction, and a per-patient candidate index: its search evaluates the parameter's FHIRPath on
 * every resource of the type (about 1 ms each, so 16 s for `MedicationRequest?patient=` over the
 * MIMIC-IV demo's 18,087 orders). A search naming one patient now runs Medplum's same matching
 * over only the resources that mention that patient anywhere.
 */
export class EhrRepository extends MemoryRepository {
  private journal: JournalEntry[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** type → patient id → ids of resources of that type that mention `Patient/<id>` (a superset: never pruned). */
  private readonly byPatient = new Map<string, Map<string, Set<string>>>();
  private listener: WriteListener | undefined;
  /** Writes of the running transaction, told to the listener only once it commits. */
  private uncommitted: { resource: Resource & { id: string }; interaction: WriteInteraction }[] = [];

  /** Tells `listener` of every write from now on; writes inside a transaction only after it committed. */
  onWrite(listener: WriteListener): void {
    this.listener = listener;
  }

  /** Runs `work` after every earlier call has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every create, update and patch of MemoryRepository ends here. */
  override async createResource<T extends Resource>(resource: T): Promise<T & { id: string }> {
    if (this.journal && resource.id) this.remember(resource.resourceType, resource.id);
    const existed = resource.id !== undefined && this.storage().resources.get(resource.resourceType)?.has(resource.id) === true;
    const created = await super.createResource(resource);
    if (this.journal && !resource.id) this.journal.push({ type: created.resourceType, id: created.id, before: undefined, historyLength: 0 });
    this.index(created);
    this.tell(created, existed ? 'update' : 'create');
    return created;
  }

  private tell(resource: Resource & { id: string }, interaction: WriteInteraction): void {
    if (!this.listener) return;
    if (this.journal) this.uncommitted.push({ resource, interaction });
    else this.listener(resource, interaction);
  }

  override search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<T & { id: string }>> {
    const filter = searchRequest.filters?.find((f) => PATIENT_PARAMS.has(f.code) && f.operator === Operator.EQUALS && /^Patient\/[^,/]+$/.test(f.value));
    const all = this.storage().resources.get(searchRequest.resourceType);
    if (!filter || !all) return super.search(searchRequest);
    const candidates = new Map<string, Resource>();
    for (const id of this.byPatient.get(searchRequest.resourceType)?.get(filter.value.slice(8)) ?? []) {
      const r = all.get(id);
      if (r) candidates.set(id, r);
    }
    // MemoryRepository.search reads the type's map synchronously before its first await: show it the candidates only.
    this.storage().resources.set(searchRequest.resourceType, candidates);
    try {
      return super.search(searchRequest);
    } finally {
      this.storage().resources.set(searchRequest.resourceType, all);
    }
  }

  private index(resource: Resource & { id: string }): void {
    const patients = new Set<string>();
    collectPatientReferences(resource, patients);
    if (patients.size === 0) return;
    let byId = this.byPatient.get(resource.resourceType);
    if (!byId) this.byPatient.set(resource.resourceType, (byId = new Map()));
    for (const p of patients) {
      let ids = byId.get(p);
      if (!ids) byId.set(p, (ids = new Set()));
      ids.add(resource.id);
    }
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    if (this.journal) this.remember(resourceType, id);
    await super.deleteResource(resourceType, id);
    this.tell({ resourceType, id } as Resource & { id: string }, 'delete');
  }

  override async withTransaction<TResult>(callback: (client: undefined) => Promise<TResult>): Promise<TResult> {
    if (this.journal) return callback(undefined);
    this.journal = [];
    try {
      const result = await callback(undefined);
      this.journal = undefined;
      const committed = this.uncommitted;
      this.uncommitted = [];
      for (const { resource, interaction } of committed) this.listener?.(resource, interaction);
      return result;
    } catch (e) {
      this.rollBack(this.journal ?? []);
      this.journal = undefined;
      this.uncommitted = [];
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

function collectPatientReferences(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectPatientReferences(item, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'reference' && typeof value === 'string' && value.startsWith('Patient/')) out.add(value.slice(8));
      else if (typeof value === 'object') collectPatientReferences(value, out);
    }
  }
}
