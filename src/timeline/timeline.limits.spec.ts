import type { Condition, Encounter } from 'fhir/r4';
import type { PatientResources } from '../fhir/fhir-source.types';
import { SYSTEM } from '../terminology/code-systems';
import { FakeTerminology } from '../../test/fixtures/patients/fake-terminology';
import { buildTimeline, TimelineLimitError, timelineStages } from './timeline';

/** Long and hostile records: folding and placement must stay near-linear and exact; limits name themselves. */
const day = (i: number) => new Date(Date.UTC(2010, 0, 1) + i * 86_400_000).toISOString();
const enc = (id: string, extra: Partial<Encounter> = {}): Encounter => ({ resourceType: 'Encounter', id, status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/p' }, ...extra });
const cond = (id: string, code: string, extra: Partial<Condition>): Condition => ({ resourceType: 'Condition', id, subject: { reference: 'Patient/p' }, code: { coding: [{ system: SYSTEM.icd10cm, code }] }, ...extra });
const record = (over: Partial<PatientResources>): PatientResources => ({
  patient: { resourceType: 'Patient', id: 'p', birthDate: '1960-01-01' }, encounters: [], conditions: [], procedures: [], medicationRequests: [], medications: [], ...over,
});

/** Deterministic pseudo-random numbers (no clock, no Math.random). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('buildTimeline on long and hostile records', () => {
  const terminology = new FakeTerminology();

  it('folds a 3,000-Encounter partOf cycle into one visit stood for by its earliest member', () => {
    const n = 3000;
    const encounters = Array.from({ length: n }, (_, i) => enc(`e${i}`, { period: { start: day(n - i) }, partOf: { reference: `Encounter/e${(i + 1) % n}` } }));
    const t = buildTimeline(record({ encounters, conditions: [cond('c', 'E11.9', { encounter: { reference: 'Encounter/e17' } })] }), terminology);
    expect(t.visits.map((v) => v.encounterRef)).toEqual([`Encounter/e${n - 1}`]);
    expect(t.issues['encounter:folded-into-parent']).toBe(n - 1);
    expect(t.visits[0].diagnoses.map((d) => d.token)).toEqual(['icd10cm:E11.9']);
  });

  it('folds a 2,000-Encounter chain into its top and a tail leading into a cycle into the cycle', () => {
    const chain = Array.from({ length: 2000 }, (_, i) => enc(`c${i}`, { period: { start: day(i) }, ...(i < 1999 ? { partOf: { reference: `Encounter/c${i + 1}` } } : {}) }));
    expect(buildTimeline(record({ encounters: chain }), terminology).visits.map((v) => v.encounterRef)).toEqual(['Encounter/c1999']);
    const tailIntoCycle = [enc('t0', { period: { start: day(0) }, partOf: { reference: 'Encounter/t1' } }), enc('t1', { period: { start: day(1) }, partOf: { reference: 'Encounter/y0' } }),
      enc('y0', { period: { start: day(5) }, partOf: { reference: 'Encounter/y1' } }), enc('y1', { period: { start: day(3) }, partOf: { reference: 'Encounter/y0' } })];
    const t = buildTimeline(record({ encounters: tailIntoCycle }), terminology);
    expect(t.visits.map((v) => v.encounterRef)).toEqual(['Encounter/y1']);
    expect(t.issues['encounter:folded-into-parent']).toBe(3);
  });

  it('places by date exactly as a scan of every visit would, with overlapping, open and date-only periods', () => {
    const rnd = lcg(7);
    const encounters: Encounter[] = Array.from({ length: 300 }, (_, i) => {
      const start = Math.floor(rnd() * 2000);
      const period = rnd() < 0.3 ? { start: day(start) } : rnd() < 0.5 ? { start: day(start).slice(0, 10), end: day(start + Math.floor(rnd() * 40)).slice(0, 10) } : { start: day(start), end: day(start + Math.floor(rnd() * 40)) };
      return enc(`e${i}`, { period });
    });
    const dates = Array.from({ length: 3000 }, () => {
      const d = day(Math.floor(rnd() * 2100) - 50);
      return rnd() < 0.4 ? d.slice(0, 10) : rnd() < 0.1 ? d.slice(0, 7) : d.replace('T00:00:00', `T${String(Math.floor(rnd() * 24)).padStart(2, '0')}:30:00`);
    });
    const conditions = dates.map((d, i) => cond(`c${i}`, `A${String(i).padStart(2, '0')}.0`, { recordedDate: d }));
    const t = buildTimeline(record({ encounters, conditions }), terminology);
    const visitOf = new Map<string, string>();
    for (const v of t.visits) for (const d of v.diagnoses) visitOf.set(d.token, v.encounterRef);
    // The reference: the last encounter visit in start order whose period contains the date (the pre-index rule).
    const encounterVisits = t.visits.filter((v) => v.encounterRef.startsWith('Encounter/'));
    const ends = encounterVisits.map((v, i) => {
      if (v.end) return { ms: Date.parse(v.end), day: v.end.slice(0, 10) };
      const next = encounterVisits.slice(i + 1).find((n) => Date.parse(n.start!) > Date.parse(v.start!));
      if (!next) return { ms: Infinity, day: '9999-12-31' };
      const prev = new Date(`${next.start!.slice(0, 10)}T00:00:00Z`);
      prev.setUTCDate(prev.getUTCDate() - 1);
      const prevDay = prev.toISOString().slice(0, 10);
      return { ms: Date.parse(next.start!) - 1, day: next.start!.slice(0, 10) <= v.start!.slice(0, 10) || prevDay < v.start!.slice(0, 10) ? v.start!.slice(0, 10) : prevDay };
    });
    let checked = 0;
    dates.forEach((d, i) => {
      let expected: string | undefined;
      encounterVisits.forEach((v, j) => {
        const inside = /^\d{4}(-\d{2}(-\d{2})?)?$/.test(d)
          ? (() => { const dd = d.length === 10 ? d : d.padEnd(10, d.length === 4 ? '-01-01' : '-01'); return v.start!.slice(0, 10) <= dd && dd <= ends[j].day; })()
          : Date.parse(v.start!) <= Date.parse(d) && Date.parse(d) <= ends[j].ms;
        if (inside) expected = v.encounterRef;
      });
      const got = visitOf.get(`icd10cm:A${String(i).padStart(2, '0')}.0`);
      expect(got).toBe(expected ?? `unlinked:${d.slice(0, 10)}`);
      checked++;
    });
    expect(checked).toBe(3000);
    expect(t.issues['condition:placed-by-date']).toBeGreaterThan(100);
  });

  it('places 50,000 conditions against 1,000 open encounters, yielding between slices', () => {
    const encounters = Array.from({ length: 1000 }, (_, i) => enc(`e${i}`, { period: { start: day(i * 3) } }));
    const conditions = Array.from({ length: 50_000 }, (_, i) => cond(`c${i}`, ['E11.9', 'I10', 'N17.9'][i % 3], { recordedDate: day((i * 7) % 3000) }));
    const stages = timelineStages(record({ encounters, conditions }), terminology);
    const yielded: string[] = [];
    let step = stages.next();
    while (!step.done) {
      yielded.push(step.value);
      step = stages.next();
    }
    expect(step.value.visits).toHaveLength(1000);
    expect(step.value.issues['condition:placed-by-date']).toBe(50_000);
    expect(yielded.filter((s) => s === 'conditions').length).toBe(25);
    expect(yielded[0]).toBe('encounters');
  });

  it('refuses more visits or codes per visit than its limits, naming the limit', () => {
    const encounters = Array.from({ length: 11 }, (_, i) => enc(`e${i}`, { period: { start: day(i) } }));
    const tooMany = () => buildTimeline(record({ encounters }), terminology, { limits: { maxVisits: 10 } });
    expect(tooMany).toThrow(TimelineLimitError);
    expect(tooMany).toThrow("the patient's record has more than 10 visits");
    const unlinked = () => buildTimeline(record({ conditions: Array.from({ length: 11 }, (_, i) => cond(`c${i}`, 'I10', { recordedDate: day(i).slice(0, 10) })) }), terminology, { limits: { maxVisits: 10 } });
    expect(unlinked).toThrow(expect.objectContaining({ limit: 'maxVisits', max: 10 }));
    const crowded = () => buildTimeline(record({ encounters: [enc('e', { period: { start: day(0) } })], conditions: Array.from({ length: 6 }, (_, i) => cond(`c${i}`, `E1${i}.9`, { encounter: { reference: 'Encounter/e' } })) }), terminology, { limits: { maxCodesPerVisit: 5 } });
    expect(crowded).toThrow(expect.objectContaining({ limit: 'maxCodesPerVisit', max: 5 }));
    expect(buildTimeline(record({ encounters }), terminology, { limits: { maxVisits: 11 } }).visits).toHaveLength(11);
  });

  it('refuses a medication whose ingredients, followed to depth 3, reach more parts than maxMedicationParts', () => {
    // A and B list each other 20 times: 1 + 20 + 400 + 8,000 paths for the description to walk.
    const ingredients = (to: string) => Array.from({ length: 20 }, () => ({ itemReference: { reference: `#${to}` } }));
    const request = {
      resourceType: 'MedicationRequest', id: 'rx', status: 'active', intent: 'order', subject: { reference: 'Patient/p' }, authoredOn: day(1),
      medicationReference: { reference: '#a' },
      contained: [{ resourceType: 'Medication', id: 'a', ingredient: ingredients('b') }, { resourceType: 'Medication', id: 'b', ingredient: ingredients('a') }],
    } as never;
    const build = (max: number) => buildTimeline(record({ medicationRequests: [request] }), terminology, { limits: { maxMedicationParts: max } });
    expect(() => build(32)).toThrow(expect.objectContaining({ limit: 'maxMedicationParts', message: 'MedicationRequest/rx: its medication has more than 32 parts (ingredients followed to depth 3)' }));
    expect(build(10_000).visits[0].medications).toHaveLength(1);
  });
});
