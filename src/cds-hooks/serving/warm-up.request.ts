import type { CdsRequest } from '../cds-hooks.types';

/**
 * A synthetic order-select call the service answers once before it reports ready, so the first real
 * caller does not pay for lazy terminology tables, the first ONNX run and cold code paths. One
 * finished visit with a diagnosis, a procedure and a medication, and a draft order for the next one:
 * the same steps a real call takes. Made-up ids; nothing is stored or logged.
 */
export function warmUpRequest(): CdsRequest {
  const patient = { resourceType: 'Patient', id: 'warm-up', birthDate: '1960-01-01', gender: 'female' };
  const subject = { reference: 'Patient/warm-up' };
  const encounter = { reference: 'Encounter/warm-up-1' };
  const bundle = (resources: Record<string, unknown>[]) => ({ resourceType: 'Bundle', type: 'searchset', total: resources.length, entry: resources.map((resource) => ({ resource })) });
  const atc = (code: string) => ({ coding: [{ system: 'http://www.whocc.no/atc', code }] });
  const draft = { resourceType: 'MedicationRequest', id: 'warm-up-draft', status: 'draft', intent: 'order', subject, medicationCodeableConcept: atc('C10AA05') };
  const request = {
    hook: 'order-select',
    hookInstance: 'warm-up',
    context: { userId: 'Practitioner/warm-up', patientId: 'warm-up', selections: ['MedicationRequest/warm-up-draft'], draftOrders: bundle([draft]) },
    prefetch: {
      patient,
      encounters: bundle([{ resourceType: 'Encounter', id: 'warm-up-1', status: 'finished', class: { code: 'IMP' }, subject, period: { start: '2020-01-01T08:00:00Z', end: '2020-01-03T08:00:00Z' } }]),
      conditions: bundle([{ resourceType: 'Condition', id: 'warm-up-c', subject, encounter, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'I10' }] } }]),
      procedures: bundle([{ resourceType: 'Procedure', id: 'warm-up-p', status: 'completed', subject, encounter, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-pcs', code: '02703ZZ' }] } }]),
      medicationRequests: bundle([{ resourceType: 'MedicationRequest', id: 'warm-up-m', status: 'completed', intent: 'order', subject, encounter, authoredOn: '2020-01-01', medicationCodeableConcept: atc('B01AC06') }]),
    },
  };
  return request as unknown as CdsRequest;
}
