import { Operator } from '@medplum/core';
import type { Condition, DetectedIssue, Encounter, MedicationRequest, RequestGroup, Resource } from '@medplum/fhirtypes';
import type { EhrRepository } from './ehr-repository';

/** The diagnoses the launcher offers for a new admission (ICD-10-CM, as MIMIC-IV codes them). */
export const ADMISSION_DIAGNOSES: readonly { code: string; display: string }[] = [
  { code: 'I50.9', display: 'Heart failure, unspecified' },
  { code: 'I48.91', display: 'Atrial fibrillation, unspecified' },
  { code: 'E11.9', display: 'Type 2 diabetes mellitus without complications' },
  { code: 'J18.9', display: 'Pneumonia, unspecified organism' },
  { code: 'N39.0', display: 'Urinary tract infection, site not specified' },
];

const ATC = 'http://www.whocc.no/atc';
const byPatient = (resourceType: string, code: string, patientId: string) =>
  ({ resourceType, filters: [{ code, operator: Operator.EQUALS, value: `Patient/${patientId}` }], count: 10_000 }) as never;

/**
 * What a clinician does in the chart: admit the patient (an in-progress inpatient Encounter) and record
 * the admission diagnosis on it, written through the store like any FHIR write, so Subscriptions see two
 * chart changes. The admission starts a day after the patient's latest visit: MIMIC-IV dates are shifted
 * into the future, so "now" would sit before the history and not be the visit the model looks at.
 */
export async function recordAdmission(repo: EhrRepository, patientId: string, diagnosisCode: string): Promise<{ encounter: string; condition: string }> {
  const diagnosis = ADMISSION_DIAGNOSES.find((d) => d.code === diagnosisCode);
  if (!diagnosis) throw new RangeError(`diagnosis ${diagnosisCode}: expected one of ${ADMISSION_DIAGNOSES.map((d) => d.code).join(', ')}`);
  return repo.exclusive(async () => {
    const encounters = (await repo.searchResources(byPatient('Encounter', 'patient', patientId))) as Encounter[];
    const latest = encounters.map((e) => Date.parse(e.period?.end ?? e.period?.start ?? '')).filter(Number.isFinite).sort((a, b) => a - b).at(-1);
    const start = new Date(latest === undefined ? Date.now() : latest + 86_400_000).toISOString();
    const encounter = await repo.createResource<Encounter>({
      resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' },
      subject: { reference: `Patient/${patientId}` }, period: { start },
    });
    const condition = await repo.createResource<Condition>({
      resourceType: 'Condition', subject: { reference: `Patient/${patientId}` }, encounter: { reference: `Encounter/${encounter.id}` },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' }] }],
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: diagnosis.code, display: diagnosis.display }], text: diagnosis.display },
      recordedDate: start,
    });
    return { encounter: encounter.id, condition: condition.id };
  });
}

export interface ProposalView { label: string; product?: string; atc?: string; atcName?: string; status?: string }
export interface IssueView { severity?: string; code?: string; detail?: string; implicated: string[] }
export interface RecommendationView {
  id: string; status: string; authoredOn?: string; reason?: string; author?: string; encounter?: string;
  cards: { summary: string; detail?: string; proposals: ProposalView[] }[];
  notes: string[];
  issues: IssueView[];
}

/** The recommendations written back to a patient's chart (RequestGroups, their proposed MedicationRequests, DetectedIssues), newest first. */
export function chartWriteBacks(repo: EhrRepository, patientId: string): Promise<RecommendationView[]> {
  return repo.exclusive(async () => {
    const groups = (await repo.searchResources(byPatient('RequestGroup', 'subject', patientId))) as RequestGroup[];
    const issues = (await repo.searchResources(byPatient('DetectedIssue', 'patient', patientId))) as DetectedIssue[];
    const views: RecommendationView[] = [];
    for (const rg of groups) {
      const cards: RecommendationView['cards'] = [];
      for (const card of rg.action ?? []) {
        const proposals: ProposalView[] = [];
        for (const action of card.action ?? []) {
          const ref = action.resource?.reference;
          const mr = ref?.startsWith('MedicationRequest/') ? await readOrUndefined<MedicationRequest>(repo, 'MedicationRequest', ref.slice('MedicationRequest/'.length)) : undefined;
          const concept = mr?.medicationCodeableConcept;
          const atc = concept?.coding?.find((c) => c.system === ATC);
          proposals.push({ label: action.title ?? '', product: concept?.text ?? concept?.coding?.find((c) => c.system !== ATC)?.display, atc: atc?.code, atcName: atc?.display, status: mr?.status });
        }
        cards.push({ summary: card.title ?? '', detail: card.description, proposals });
      }
      // The write-back names a DetectedIssue `<event>/<class pair>` after its RequestGroup's `<event>`.
      const event = rg.identifier?.[0]?.value;
      const own = issues.filter((d) => event !== undefined && d.identifier?.some((i) => i.value?.startsWith(`${event}/`)));
      views.push({
        id: rg.id as string, status: rg.status ?? 'unknown', authoredOn: rg.authoredOn, reason: rg.reasonCode?.map((r) => r.text).filter(Boolean).join('; '),
        author: rg.author?.display, encounter: rg.encounter?.reference, cards, notes: (rg.note ?? []).map((n) => n.text ?? '').filter(Boolean),
        issues: own.map((d) => ({ severity: d.severity, code: d.code?.text ?? d.code?.coding?.[0]?.display, detail: d.detail, implicated: (d.implicated ?? []).map((r) => r.display ?? r.reference ?? '').filter(Boolean) })),
      });
    }
    // Active first, then newest first.
    return views.sort((a, b) => Number(b.status === 'active') - Number(a.status === 'active') || (b.authoredOn ?? '').localeCompare(a.authoredOn ?? '') || a.id.localeCompare(b.id));
  });
}

async function readOrUndefined<T extends Resource>(repo: EhrRepository, type: string, id: string): Promise<T | undefined> {
  return (await repo.readResource(type as never, id).catch(() => undefined)) as T | undefined;
}
