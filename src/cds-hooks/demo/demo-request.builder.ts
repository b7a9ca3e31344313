import { randomUUID } from 'node:crypto';
import type { Bundle, Encounter, MedicationRequest, Resource } from 'fhir/r4';
import type { PatientResources } from '../../fhir/fhir-source.types';
import { resolveMedication } from '../../terminology/medication-resolver';
import type { CdsHookName, CdsRequest } from '../cds-hooks.types';

export interface DemoRequestOptions {
  hook: CdsHookName;
  userId?: string;
  newUuid?: () => string;
}

/**
 * A real CDS Hooks request from one patient's FHIR data, as an EHR would send it at order entry in
 * the patient's LAST encounter: context.encounterId = that encounter; its medication orders are not
 * written yet (left out of the prefetch), and one of them, the first with a usable medication, is the
 * draft being entered (context.draftOrders / selections). Full prefetch: Patient and searchset
 * Bundles of Encounters, Conditions, Procedures and MedicationRequests (+ their Medications).
 */
export function buildDemoRequest(p: PatientResources, opts: DemoRequestOptions): CdsRequest {
  const newUuid = opts.newUuid ?? randomUUID;
  const patientId = p.patient.id as string;
  const last = lastEncounter(p.encounters);
  const lastRef = last ? `Encounter/${last.id}` : undefined;
  const inLast = (mr: MedicationRequest) => lastRef !== undefined && mr.encounter?.reference === lastRef;
  const history = p.medicationRequests.filter((mr) => !inLast(mr));
  const lastVisitOrders = p.medicationRequests.filter(inLast);
  const draft = lastVisitOrders.map((mr) => toDraft(mr, p, patientId)).find((d): d is MedicationRequest => d !== undefined);

  const usedMeds = new Set(history.map((mr) => mr.medicationReference?.reference).filter(Boolean));
  const medications = p.medications.filter((m) => usedMeds.has(`Medication/${m.id}`));
  const prefetch = {
    patient: p.patient,
    encounters: searchset(p.encounters),
    conditions: searchset(p.conditions),
    procedures: searchset(p.procedures),
    medicationRequests: searchset(history, medications),
    // The FHIR sources the demo reads hold no MedicationStatements: known empty.
    medicationStatements: searchset([]),
  };
  const userId = opts.userId ?? 'Practitioner/COREPRACTITIONER1';
  const base = { hookInstance: newUuid(), prefetch };
  const context = { userId, patientId, ...(last?.id ? { encounterId: last.id } : {}) };
  const draftOrders = { resourceType: 'Bundle' as const, type: 'collection' as const, entry: draft ? [{ resource: draft }] : [] };
  if (opts.hook === 'patient-view') return { ...base, hook: 'patient-view', context };
  if (opts.hook === 'order-sign') return { ...base, hook: 'order-sign', context: { ...context, draftOrders } };
  return { ...base, hook: 'order-select', context: { ...context, selections: draft ? [`MedicationRequest/${draft.id}`] : [], draftOrders } };
}

function lastEncounter(encounters: Encounter[]): Encounter | undefined {
  return [...encounters].filter((e) => e.id).sort((a, b) => (a.period?.start ?? '').localeCompare(b.period?.start ?? '') || (a.id as string).localeCompare(b.id as string)).pop();
}

/** The order as a draft with an inline medicationCodeableConcept (drafts carry no server-side references). */
function toDraft(mr: MedicationRequest, p: PatientResources, patientId: string): MedicationRequest | undefined {
  const resolved = resolveMedication(mr, (id) => p.medications.find((m) => m.id === id));
  const concept = resolved.concept;
  if (!concept || ((concept.coding ?? []).length === 0 && !concept.text)) return undefined;
  return {
    resourceType: 'MedicationRequest',
    id: 'draft-1',
    status: 'draft',
    intent: 'order',
    subject: { reference: `Patient/${patientId}` },
    ...(mr.encounter ? { encounter: mr.encounter } : {}),
    medicationCodeableConcept: concept,
    ...(mr.dosageInstruction ? { dosageInstruction: mr.dosageInstruction } : {}),
  };
}

function searchset(resources: Resource[], included: Resource[] = []): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    entry: [
      ...resources.map((resource) => ({ resource, search: { mode: 'match' as const } })),
      ...included.map((resource) => ({ resource, search: { mode: 'include' as const } })),
    ],
  };
}
