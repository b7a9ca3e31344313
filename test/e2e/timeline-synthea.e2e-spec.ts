import * as path from 'node:path';
import { openFhirSource } from '../../src/fhir/fhir-source';
import { FakeTerminology } from '../fixtures/patients/fake-terminology';
import { buildTimeline } from '../../src/timeline/timeline';
import { describeWithShared, SHARED_DATA } from '../support/shared-data';

const shared = SHARED_DATA;
const bundles = path.join(shared, 'synthea-r4-smart-sample', 'bundles');

// All Synthea bundles in ../shared/data (465 patients, ~5 s idle; the e2e tier, since it reads every bundle):
// every reference must resolve inside its bundle.
describeWithShared(bundles)('buildTimeline over the Synthea R4 sample bundles', () => {
  it('builds a sane timeline for every patient', async () => {
    const terminology = new FakeTerminology();
    const source = await openFhirSource(bundles);
    const issues: Record<string, number> = {};
    let patients = 0;
    let lastId = '';
    for await (const resources of source.patients()) {
      const id = resources.patient.id!;
      expect(id > lastId).toBe(true);
      lastId = id;
      const t = buildTimeline(resources, terminology);
      patients++;
      expect(t.patientRef).toBe(`Patient/${id}`);
      expect(t.visits.length).toBeGreaterThanOrEqual(1);
      const starts = t.visits.map((v) => Date.parse(v.start!));
      expect(starts.every((s, i) => !Number.isNaN(s) && (i === 0 || starts[i - 1] <= s))).toBe(true);
      expect(t.visits.every((v) => v.ageYears === undefined || v.ageYears >= 0)).toBe(true);
      expect(t.profile.gender).toMatch(/^(male|female)$/);
      for (const [k, n] of Object.entries(t.issues)) issues[k] = (issues[k] ?? 0) + n;
    }
    expect(patients).toBeGreaterThanOrEqual(400);
    // Synthea links every Condition/Procedure/MedicationRequest to an Encounter of the same bundle.
    expect(Object.keys(issues).filter((k) => /encounter-not-found|unlinked-visit|placed-by-date|no-date|unresolved/.test(k))).toEqual([]);
    expect(issues['medication:placed-by-encounter']).toBeGreaterThan(3000);
  });
});
