import type { Bundle, Condition, Encounter, Medication, MedicationRequest, MedicationStatement, Patient, Procedure, Resource } from 'fhir/r4';
import type { PatientResources } from '../../fhir/fhir-source.types';
import type { CdsRequest } from '../cds-hooks.types';
import { OPTIONAL_PREFETCH_KEYS, PREFETCH_KEYS, PrefetchKey } from '../cds-services.registry';
import { fillTemplate } from './prefetch-template';
import { resourceShapeProblems } from '../dto/fhir-shape';

/** The part of FhirServerClient the resolver uses (src/fhir/fhir-server.client.ts). */
export interface PrefetchFhirClient {
  searchAll(query: string): Promise<Resource[]>;
  read<T extends Resource = Resource>(reference: string): Promise<T>;
}
/** A client for one hook call: every request it makes shares `deadline` (the call's one FHIR deadline). */
export type PrefetchFhirClientFactory = (fhirServer: string, bearerToken: string | undefined, deadline: AbortSignal) => PrefetchFhirClient;
/** Nest token of the one PrefetchFhirClientFactory (FhirServerClient with the configured bounds). */
export const FHIR_CLIENT_FACTORY = Symbol('FHIR_CLIENT_FACTORY');

export interface PrefetchLimits {
  /** Most resources per prefetch key, sent or fetched (CDS_MAX_RESOURCES_PER_KEY). */
  maxResourcesPerKey: number;
  /** One deadline for all FHIR requests of a call, ms (FHIR_DEADLINE_MS). */
  deadlineMs: number;
}

export type PrefetchSource = 'prefetch' | 'null' | 'fetched';

export interface ResolvedPrefetch {
  resources: PatientResources;
  /** The patient's MedicationStatements (optional key: empty when the client has none). */
  medicationStatements: MedicationStatement[];
  /** Where each key's data came from (for logs and tests; holds no patient data). */
  sources: Record<PrefetchKey, PrefetchSource>;
  /** Medication references that could not be resolved (the timeline then classes by what it has). */
  unresolvedMedications: number;
}

export interface PrefetchFailure {
  key: PrefetchKey;
  template: string;
  reason: string;
  /** The FHIR server's HTTP status when it answered with an error. */
  status?: number;
}

/** Required data could not be had: the service answers 412 naming each key (cds-fhir.md §1.4). */
export class PrefetchUnavailableError extends Error {
  constructor(readonly failures: PrefetchFailure[]) {
    super(failures.map((f) => `prefetch key '${f.key}' (${f.template}): ${f.reason}`).join('; '));
    this.name = 'PrefetchUnavailableError';
  }
}

/** The client sent more resources under a key than the service reads: 413 naming the key and the limit. */
export class PrefetchTooLargeError extends Error {
  constructor(readonly key: string, readonly count: number, readonly max: number) {
    super(`prefetch '${key}' holds ${count} resources; at most ${max} per key (CDS_MAX_RESOURCES_PER_KEY)`);
    this.name = 'PrefetchTooLargeError';
  }
}

/** The client sent prefetch data that cannot be right (wrong type, another patient): 400. */
export class PrefetchInvalidError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrefetchInvalidError';
  }
}

const MAX_MEDICATION_READS = 200;

/**
 * Turns a request's prefetch into PatientResources, per key:
 * present → used (a paged Bundle is followed on fhirServer); null → known empty; absent or an
 * OperationOutcome (or a Bundle whose entries are error OperationOutcomes) → fetched from fhirServer
 * with the fhirAuthorization bearer token and the filled template. Any required key still missing →
 * PrefetchUnavailableError (412). Medication references not in the data are read from the server
 * when one is given.
 */
export class PrefetchResolver {
  constructor(
    private readonly clientFor: PrefetchFhirClientFactory,
    private readonly limits: PrefetchLimits = { maxResourcesPerKey: 50_000, deadlineMs: 15_000 },
  ) {}

  async resolve(request: CdsRequest, templates: Record<PrefetchKey, string>): Promise<ResolvedPrefetch> {
    const patientId = request.context.patientId;
    const fhirServer = request.fhirServer;
    const max = this.limits.maxResourcesPerKey;
    const prefetchValues = (request.prefetch ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(PREFETCH_KEYS)) {
      const count = countResources(prefetchValues[key]);
      if (count > max) throw new PrefetchTooLargeError(key, count, max);
    }
    let client: PrefetchFhirClient | undefined;
    // One deadline for every FHIR request of this call (pages, medication reads), whatever the per-request timeout.
    const deadline = AbortSignal.timeout(this.limits.deadlineMs);
    const getClient = (): PrefetchFhirClient | undefined => {
      if (fhirServer === undefined) return undefined;
      client ??= this.clientFor(fhirServer, request.fhirAuthorization?.access_token, deadline);
      return client;
    };
    const prefetch = (request.prefetch ?? {}) as Record<string, unknown>;
    const keys = Object.keys(PREFETCH_KEYS) as PrefetchKey[];
    const sources = {} as Record<PrefetchKey, PrefetchSource>;
    const failures: PrefetchFailure[] = [];
    const byKey = {} as Record<PrefetchKey, Resource[]>;

    await Promise.all(keys.map(async (key) => {
      const template = templates[key];
      const value = prefetch[key];
      const expectedType = PREFETCH_KEYS[key];
      if (value === null) {
        sources[key] = 'null';
        byKey[key] = [];
        return;
      }
      if (value !== undefined && !isFailure(value)) {
        byKey[key] = await this.fromPresent(key, value as Resource, expectedType, getClient, failures, template);
        sources[key] = 'prefetch';
        return;
      }
      const c = getClient();
      const optional = OPTIONAL_PREFETCH_KEYS.has(key);
      if (c === undefined && optional) {
        sources[key] = 'null';
        byKey[key] = [];
        return;
      }
      if (c === undefined) {
        failures.push({ key, template, reason: value === undefined ? 'not in prefetch and no fhirServer given' : 'prefetch holds an OperationOutcome and no fhirServer is given' });
        return;
      }
      const query = fillTemplate(template, request.context as unknown as Record<string, unknown>);
      if (query === undefined) {
        failures.push({ key, template, reason: 'a template token has no value in context' });
        return;
      }
      try {
        const fetched = key === 'patient' ? [await c.read(query)] : await c.searchAll(query);
        const problem = fetchedProblem(fetched, max);
        if (problem !== undefined) failures.push({ key, template, reason: problem });
        else {
          byKey[key] = fetched;
          sources[key] = 'fetched';
        }
      } catch (e) {
        if (optional) {
          sources[key] = 'null';
          byKey[key] = [];
        } else failures.push({ key, template, reason: describeFetchError(e), ...statusOf(e) });
      }
    }));
    if (failures.length > 0) throw new PrefetchUnavailableError(failures.sort((a, b) => keys.indexOf(a.key) - keys.indexOf(b.key)));

    const patients = byKey.patient.filter((r): r is Patient => r.resourceType === 'Patient');
    if (patients.length > 0 && patients[0].id !== undefined && patients[0].id !== patientId) {
      throw new PrefetchInvalidError(`prefetch 'patient' is Patient/${patients[0].id}, not context.patientId`);
    }
    const patient: Patient = patients[0] ?? { resourceType: 'Patient', id: patientId };
    const medications: Medication[] = [];
    const isPatient = patientReferenceTest(patientId);
    const pick = <T extends Resource>(key: PrefetchKey): T[] => {
      const out: T[] = [];
      for (const r of byKey[key]) {
        if (r.resourceType === 'Medication') medications.push(r as Medication);
        else if (r.resourceType === PREFETCH_KEYS[key]) {
          if (!belongsTo(r, isPatient)) throw new PrefetchInvalidError(`prefetch '${key}' holds ${r.resourceType} of another patient`);
          out.push(r as T);
        }
      }
      return out;
    };
    const resources: PatientResources = {
      patient,
      encounters: pick<Encounter>('encounters'),
      conditions: pick<Condition>('conditions'),
      procedures: pick<Procedure>('procedures'),
      medicationRequests: pick<MedicationRequest>('medicationRequests'),
      medications,
    };
    const medicationStatements = pick<MedicationStatement>('medicationStatements');
    const unresolvedMedications = await this.resolveMedications(resources, getClient());
    return { resources, medicationStatements, sources, unresolvedMedications };
  }

  private async fromPresent(
    key: PrefetchKey, value: Resource, expectedType: string, getClient: () => PrefetchFhirClient | undefined,
    failures: PrefetchFailure[], template: string,
  ): Promise<Resource[]> {
    if (key === 'patient') {
      if (value.resourceType === 'Bundle') return entriesOf(value as Bundle);
      if (value.resourceType !== expectedType) throw new PrefetchInvalidError(`prefetch '${key}' must be a ${expectedType}, got ${value.resourceType}`);
      return [value];
    }
    if (value.resourceType !== 'Bundle') throw new PrefetchInvalidError(`prefetch '${key}' must be a searchset Bundle of ${expectedType}, got ${value.resourceType}`);
    const bundle = value as Bundle;
    const out = entriesOf(bundle);
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (next) {
      const c = getClient();
      if (c === undefined) {
        failures.push({ key, template, reason: 'prefetch Bundle has a next page and no fhirServer is given' });
        return out;
      }
      try {
        const fetched = await c.searchAll(next);
        const problem = fetchedProblem(fetched, this.limits.maxResourcesPerKey - out.length);
        if (problem !== undefined) failures.push({ key, template, reason: `next page: ${problem}` });
        else for (const r of fetched) out.push(r);
      } catch (e) {
        failures.push({ key, template, reason: `next page: ${describeFetchError(e)}` });
      }
    }
    return out;
  }

  private async resolveMedications(resources: PatientResources, client: PrefetchFhirClient | undefined): Promise<number> {
    const known = new Set(resources.medications.map((m) => `Medication/${m.id}`));
    const wanted = new Set<string>();
    // Requests repeat the same few references: look at each distinct one once.
    const seen = new Set<string>();
    for (const mr of resources.medicationRequests) {
      const ref = mr.medicationReference?.reference;
      if (!ref || seen.has(ref)) continue;
      seen.add(ref);
      if (ref.startsWith('#')) continue;
      const rel = /(Medication\/[^/]+)$/.exec(ref)?.[1];
      if (rel && !known.has(rel)) wanted.add(rel);
    }
    if (wanted.size === 0) return 0;
    if (client === undefined) return wanted.size;
    const refs = [...wanted].slice(0, MAX_MEDICATION_READS);
    const results = await Promise.allSettled(refs.map((ref) => client.read<Medication>(ref)));
    let missing = wanted.size - refs.length;
    for (const r of results) {
      if (r.status === 'fulfilled' && r.value.resourceType === 'Medication' && resourceShapeProblems(r.value, 'Medication').length === 0) resources.medications.push(r.value);
      else missing++;
    }
    return missing;
  }
}

/** Resources under a prefetch key: a Bundle's entries, or one resource. */
function countResources(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const entry = (value as { entry?: unknown }).entry;
  return Array.isArray(entry) ? entry.length : 1;
}

/** Why fetched resources cannot be used (too many, or not shaped as FHIR the service reads); undefined when fine. */
function fetchedProblem(resources: Resource[], max: number): string | undefined {
  if (resources.length > max) return `FHIR server returned more than ${max} resources (CDS_MAX_RESOURCES_PER_KEY)`;
  for (let i = 0; i < resources.length; i++) {
    const problems = resourceShapeProblems(resources[i], `resource ${i + 1}`);
    if (problems.length > 0) return `FHIR server answered malformed FHIR: ${problems[0]}`;
  }
  return undefined;
}

function entriesOf(bundle: Bundle): Resource[] {
  const out: Resource[] = [];
  for (const e of bundle.entry ?? []) {
    if (!e?.resource || e.resource.resourceType === 'OperationOutcome' || e.search?.mode === 'outcome') continue;
    out.push(e.resource);
  }
  return out;
}

/** An OperationOutcome, or a Bundle that carries only error OperationOutcomes: the client's prefetch failed. */
function isFailure(value: unknown): boolean {
  const r = value as Resource;
  if (r.resourceType === 'OperationOutcome') return true;
  if (r.resourceType !== 'Bundle') return false;
  const entries = (r as Bundle).entry ?? [];
  if (entries.length === 0) return false;
  return entries.every((e) => e.resource?.resourceType === 'OperationOutcome')
    && entries.some((e) => ((e.resource as { issue?: { severity?: string }[] }).issue ?? []).some((i) => i.severity === 'error' || i.severity === 'fatal'));
}

function belongsTo(r: Resource, isPatient: (reference: string) => boolean): boolean {
  const ref = (r as { subject?: { reference?: string }; patient?: { reference?: string } }).subject?.reference
    ?? (r as { patient?: { reference?: string } }).patient?.reference;
  if (ref === undefined) return true;
  return isPatient(ref);
}

/** Whether a reference names the context's patient (relative or absolute); the spellings are built once per request. */
function patientReferenceTest(patientId: string): (reference: string) => boolean {
  const relative = `Patient/${patientId}`;
  const absoluteTail = `/Patient/${patientId}`;
  return (ref) => ref === relative || ref.endsWith(absoluteTail);
}

function statusOf(e: unknown): { status?: number } {
  const status = (e as { status?: unknown }).status;
  return typeof status === 'number' ? { status } : {};
}

function describeFetchError(e: unknown): string {
  const err = e as { status?: number; reason?: string; message?: string; detail?: string };
  if (err.reason === 'limit') return `FHIR server answer exceeds a limit: ${err.detail ?? 'size'}`;
  if (err.reason === 'protocol' && err.detail) return `FHIR server answer refused: ${err.detail}`;
  if (err.reason === 'timeout' && err.detail) return err.detail;
  if (err.reason === 'http' && err.detail) return `FHIR server answered ${err.detail}`;
  if (typeof err.status === 'number') return `FHIR server answered HTTP ${err.status}`;
  if (err.reason === 'timeout') return 'FHIR server did not answer in time';
  if (err.reason === 'network') return 'FHIR server unreachable';
  return `FHIR server request failed (${err.reason ?? 'error'})`;
}
