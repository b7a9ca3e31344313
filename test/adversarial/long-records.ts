/**
 * Long patient records, legitimate in size or hostile in shape, as CDS Hooks prefetch: the cases
 * that used to block the event loop for seconds to a minute (issue 9).
 */
const ICD10 = ['E11.9', 'I10', 'I50.9', 'N17.9', 'J18.9', 'E78.5', 'K21.9', 'F32.9', 'M54.5', 'Z79.4'];

const bundle = (resources: object[]) => ({ resourceType: 'Bundle', type: 'searchset', entry: resources.map((resource) => ({ resource })) });

function encounter(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const start = new Date(Date.UTC(2000, 0, 1) + i * 86_400_000 * 3).toISOString();
  return { resourceType: 'Encounter', id: `e${i}`, status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/alice' }, period: { start }, ...extra };
}

function prefetchOf(encounters: object[], conditions: object[]): Record<string, unknown> {
  return {
    patient: { resourceType: 'Patient', id: 'alice', gender: 'female', birthDate: '1950-01-01' },
    encounters: bundle(encounters),
    conditions: bundle(conditions),
    procedures: bundle([]),
    medicationRequests: bundle([]),
  };
}

/** `n` Encounters whose partOf references form one cycle (e0 → e1 → … → e(n-1) → e0). */
export function encounterCycle(n: number): Record<string, unknown> {
  return prefetchOf(Array.from({ length: n }, (_, i) => encounter(i, { partOf: { reference: `Encounter/e${(i + 1) % n}` } })), []);
}

/** `n` Encounters in one partOf chain (e0 → e1 → … → e(n-1)). */
export function encounterChain(n: number): Record<string, unknown> {
  return prefetchOf(Array.from({ length: n }, (_, i) => encounter(i, i + 1 < n ? { partOf: { reference: `Encounter/e${i + 1}` } } : {})), []);
}

/** `conditions` Conditions without an encounter, placed by date against `encounters` open-ended encounters. */
export function longRecord(encounters: number, conditions: number): Record<string, unknown> {
  const span = encounters * 3 * 86_400_000;
  return prefetchOf(
    Array.from({ length: encounters }, (_, i) => encounter(i)),
    Array.from({ length: conditions }, (_, i) => ({
      resourceType: 'Condition', id: `c${i}`, subject: { reference: 'Patient/alice' },
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: ICD10[i % ICD10.length] }] },
      recordedDate: new Date(Date.UTC(2000, 0, 1) + Math.floor((i * 7919) % span)).toISOString(),
    })),
  );
}

/** One encounter with `codes` distinct diagnosis codes. */
export function crowdedVisit(codes: number): Record<string, unknown> {
  return prefetchOf([encounter(0)], Array.from({ length: codes }, (_, i) => ({
    resourceType: 'Condition', id: `c${i}`, subject: { reference: 'Patient/alice' }, encounter: { reference: 'Encounter/e0' },
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: `Z${String(Math.floor(i / 100)).padStart(2, '0')}.${i % 100}` }] },
  })));
}

/** One order whose contained Medications list each other as ingredients 20 times (8,421 paths to depth 3). */
export function ingredientExplosion(): Record<string, unknown> {
  const ingredients = (to: string) => Array.from({ length: 20 }, () => ({ itemReference: { reference: `#${to}` } }));
  const prefetch = prefetchOf([encounter(0)], []);
  prefetch.medicationRequests = bundle([{
    resourceType: 'MedicationRequest', id: 'rx', status: 'active', intent: 'order', subject: { reference: 'Patient/alice' }, encounter: { reference: 'Encounter/e0' },
    medicationReference: { reference: '#a' },
    contained: [{ resourceType: 'Medication', id: 'a', ingredient: ingredients('b') }, { resourceType: 'Medication', id: 'b', ingredient: ingredients('a') }],
  }]);
  return prefetch;
}
