import type { Condition, Encounter, Medication, MedicationRequest, Patient, Procedure, Resource } from 'fhir/r4';
import { CliError } from '../common/cli-error';
import { compareIds, parseReference, CLINICAL_TYPES } from './fhir-resource.utils';
import { FhirServerClient, FhirServerError } from './fhir-server.client';
import type { FhirSource, PatientResources } from './fhir-source.types';

/**
 * A live FHIR R4 server. patients() pages through `Patient` keeping only the ids (sorted for a
 * deterministic order), then per patient reads the Patient and searches Encounter, Condition,
 * Procedure and MedicationRequest (`_include=MedicationRequest:medication`; Medications the
 * server did not include are read one by one). Server errors become one-line CliErrors.
 */
export class ServerFhirSource implements FhirSource {
  readonly kind = 'fhir-server' as const;

  constructor(
    readonly location: string,
    readonly client: FhirServerClient,
  ) {}

  /** Every resource of the given types (default: the clinical types; a server cannot list "all"). */
  async *resources(types?: string[]): AsyncIterable<Resource> {
    for (const type of types ?? CLINICAL_TYPES) {
      for await (const page of this.guard(this.client.searchPages(type))) {
        for (const entry of page.entry ?? []) if (entry.resource && entry.search?.mode !== 'outcome') yield entry.resource;
      }
    }
  }

  async *patients(): AsyncIterable<PatientResources> {
    const ids: string[] = [];
    for await (const page of this.guard(this.client.searchPages('Patient'))) {
      for (const entry of page.entry ?? []) {
        if (entry.resource?.resourceType === 'Patient' && entry.resource.id && entry.search?.mode !== 'include') ids.push(entry.resource.id);
      }
    }
    ids.sort(compareIds);
    for (const id of [...new Set(ids)]) yield await this.wrap(() => this.patient(id));
  }

  /** One patient's resources from the server. */
  async patient(id: string): Promise<PatientResources> {
    const q = encodeURIComponent(id);
    const [patient, encounters, conditions, procedures, requestsAndMeds] = await Promise.all([
      this.client.read<Patient>(`Patient/${q}`),
      this.client.searchAll(`Encounter?patient=${q}`),
      this.client.searchAll(`Condition?patient=${q}`),
      this.client.searchAll(`Procedure?patient=${q}`),
      this.client.searchAll(`MedicationRequest?patient=${q}&_include=MedicationRequest:medication`),
    ]);
    const medicationRequests = requestsAndMeds.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest');
    const medications = new Map<string, Medication>();
    for (const r of requestsAndMeds) if (r.resourceType === 'Medication' && r.id) medications.set(r.id, r as Medication);
    // Referenced Medications the server did not _include (and a mix's ingredient Medications), read one by one.
    const wanted = (ref: string | undefined) => {
      const parsed = parseReference(ref);
      return parsed && (parsed.type ?? 'Medication') === 'Medication' && !medications.has(parsed.id) ? parsed.id : undefined;
    };
    let pending = [
      ...medicationRequests.map((r) => wanted(r.medicationReference?.reference)),
      ...[...medications.values()].flatMap((m) => (m.ingredient ?? []).map((ing) => wanted(ing.itemReference?.reference))),
    ];
    while (pending.some((id) => id !== undefined)) {
      const ids = [...new Set(pending.filter((id): id is string => id !== undefined))].sort(compareIds);
      const read = await Promise.all(ids.map((mid) => this.client.read<Medication>(`Medication/${encodeURIComponent(mid)}`)));
      read.forEach((m, i) => medications.set(ids[i], m));
      pending = read.flatMap((m) => (m.ingredient ?? []).map((ing) => wanted(ing.itemReference?.reference)));
    }
    return {
      patient,
      encounters: encounters.filter((r): r is Encounter => r.resourceType === 'Encounter'),
      conditions: conditions.filter((r): r is Condition => r.resourceType === 'Condition'),
      procedures: procedures.filter((r): r is Procedure => r.resourceType === 'Procedure'),
      medicationRequests,
      medications: [...medications.values()].sort((a, b) => compareIds(a.id, b.id)),
    };
  }

  private async wrap<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw asCliError(e);
    }
  }

  private async *guard<T>(pages: AsyncGenerator<T>): AsyncGenerator<T> {
    try {
      yield* pages;
    } catch (e) {
      throw asCliError(e);
    }
  }
}

export function asCliError(e: unknown): unknown {
  return e instanceof FhirServerError ? new CliError(`FHIR server: ${e.message}`) : e;
}
