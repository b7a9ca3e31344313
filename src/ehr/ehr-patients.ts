import { Operator } from '@medplum/core';
import type { Resource as MedplumResource } from '@medplum/fhirtypes';
import type { Encounter, Medication, Patient, Resource } from 'fhir/r4';
import { addToBucket, emptyBucket, toPatientResources } from '../fhir/fhir-resource.utils';
import type { PatientResources } from '../fhir/fhir-source.types';
import type { EhrRepository } from './ehr-repository';

export interface PatientSummary {
  id: string;
  /** The name, else the first identifier, else the id. */
  label: string;
  identifier?: string;
  birthDate?: string;
  gender?: string;
  visits: number;
}

async function all(repo: EhrRepository, type: string, filters: { code: string; value: string }[] = []): Promise<Resource[]> {
  const bundle = await repo.search({ resourceType: type as MedplumResource['resourceType'], filters: filters.map((f) => ({ ...f, operator: Operator.EQUALS })) });
  return (bundle.entry ?? []).map((e) => e.resource as unknown as Resource);
}

/** The loaded patients with their number of visits (Encounters), by label. */
export async function patientSummaries(repo: EhrRepository): Promise<PatientSummary[]> {
  const visits = new Map<string, number>();
  for (const e of (await all(repo, 'Encounter')) as Encounter[]) {
    const ref = e.subject?.reference;
    if (ref?.startsWith('Patient/')) visits.set(ref.slice(8), (visits.get(ref.slice(8)) ?? 0) + 1);
  }
  return ((await all(repo, 'Patient')) as Patient[]).map((p) => summaryOf(p, visits.get(p.id as string) ?? 0)).sort((a, b) => a.label.localeCompare(b.label, 'en'));
}

/** One patient's summary line. */
export function summaryOf(p: Patient, visits: number): PatientSummary {
  const name = p.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  const identifier = p.identifier?.[0]?.value;
  return { id: p.id as string, label: text || identifier || (p.id as string), identifier, birthDate: p.birthDate, gender: p.gender, visits };
}

/** One patient's resources as the timeline and the CDS request builder take them, or undefined. */
export async function patientResources(repo: EhrRepository, patientId: string): Promise<PatientResources | undefined> {
  const patient = await repo.readResource('Patient', patientId).catch(() => undefined);
  if (!patient) return undefined;
  const bucket = emptyBucket();
  addToBucket(bucket, patient as unknown as Resource);
  for (const type of ['Encounter', 'Condition', 'Procedure', 'MedicationRequest']) {
    for (const r of await all(repo, type, [{ code: 'patient', value: `Patient/${patientId}` }])) addToBucket(bucket, r);
  }
  const medications = new Map<string, Medication>();
  for (const mr of bucket.medicationRequests) {
    const ref = mr.medicationReference?.reference;
    if (ref?.startsWith('Medication/') && !medications.has(ref.slice(11))) {
      const med = await repo.readResource('Medication', ref.slice(11)).catch(() => undefined);
      if (med) medications.set(ref.slice(11), med as unknown as Medication);
    }
  }
  return toPatientResources(bucket, (id) => medications.get(id));
}

/** The id of a patient's latest Encounter (by period start): the visit an EHR launch opens in. */
export async function lastEncounterOf(repo: EhrRepository, patientId: string): Promise<string | undefined> {
  const encounters = (await all(repo, 'Encounter', [{ code: 'patient', value: `Patient/${patientId}` }])) as Encounter[];
  return encounters.sort((a, b) => (a.period?.start ?? '').localeCompare(b.period?.start ?? '') || (a.id ?? '').localeCompare(b.id ?? '')).pop()?.id;
}
