import type { Condition, Encounter, Medication, MedicationRequest, Patient, Procedure, Resource } from 'fhir/r4';

/** The FHIR resources of one patient, as the timeline builder takes them. */
export interface PatientResources {
  patient: Patient;
  encounters: Encounter[];
  conditions: Condition[];
  procedures: Procedure[];
  medicationRequests: MedicationRequest[];
  /** Medication resources referenced by the requests (from the source, a bundle or the server). */
  medications: Medication[];
}

/**
 * Where FHIR comes from: an NDJSON folder (one file per resource type), a folder of Bundles
 * (.json / .json.gz) or a FHIR server base URL. Implemented in fhir/ (fhir-source.ts: `openFhirSource`).
 */
export interface FhirSource {
  readonly kind: 'ndjson' | 'bundles' | 'fhir-server';
  readonly location: string;
  /** Every resource of the given types (all when omitted), streamed. Errors name the file and line. */
  resources(types?: string[]): AsyncIterable<Resource>;
  /** Patients one at a time, each with its resources, in a deterministic order (by Patient.id). */
  patients(): AsyncIterable<PatientResources>;
}
