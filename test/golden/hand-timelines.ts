/**
 * Hand-built patient timelines for the pure leader/prompt, leader/tensors and training specs
 * (no FHIR, no terminology): small, deliberately awkward (a code without title, an unmapped
 * medication, duplicate codes, an empty visit, more than 10 visits).
 */
import type { PatientTimeline, TimelineCode, TimelineMedication, TimelineVisit } from '../../src/timeline/timeline.types';

export function dx(token: string, display?: string): TimelineCode {
  const [prefix, code] = token.split(':');
  return { token, system: `urn:test:${prefix}`, code, ...(display ? { display } : {}) };
}
export const px = dx;

export function med(id: string, ...atc3: string[]): TimelineMedication {
  return { requestRef: `MedicationRequest/${id}`, atc3, text: `drug ${id}`, status: 'completed' };
}

export function visit(id: string, parts: Partial<Omit<TimelineVisit, 'encounterRef'>> = {}): TimelineVisit {
  return { encounterRef: `Encounter/${id}`, diagnoses: [], procedures: [], medications: [], ...parts };
}

export function timeline(patientId: string, visits: TimelineVisit[], profile: PatientTimeline['profile'] = {}): PatientTimeline {
  return { patientRef: `Patient/${patientId}`, profile, visits, issues: {} };
}

/** Titles and ATC3 names the specs look codes up in (`icd9cm:999` and `C99X` deliberately have none). */
export const TITLES: Record<string, string> = {
  'icd10cm:E11.9': 'Type 2 diabetes mellitus without complications',
  'icd10cm:I10': 'Essential (primary) hypertension',
  'icd10cm:N18.3': 'Chronic kidney disease, stage 3',
  'icd9cm:4019': 'Hypertension NOS',
  'icd9cm:25000': 'DMII wo cmp nt st uncntr',
  'icd9pcs:3893': 'Venous cath NEC',
  'icd10pcs:0DJ08ZZ': 'Inspection of Upper Intestinal Tract, Endoscopic',
};
export const ATC3_NAMES: Record<string, string> = {
  A10B: 'BLOOD GLUCOSE LOWERING DRUGS, EXCL. INSULINS',
  C09A: 'ACE inhibitors, plain',
  C03C: 'high-ceiling diuretics',
  N02B: 'other analgesics and antipyretics',
  B01A: 'antithrombotic agents',
};
export const NAMES = {
  codeTitle: (token: string) => TITLES[token],
  atc3Name: (atc3: string) => ATC3_NAMES[atc3],
};

/** Three visits: diabetes, then hypertension, then CKD with a code that has no title. */
export function threeVisitPatient(): PatientTimeline {
  return timeline(
    '101',
    [
      visit('v1', { start: '2150-01-02T10:00:00Z', ageYears: 64, admissionType: 'EW EMER.', diagnoses: [dx('icd9cm:25000'), dx('icd9cm:4019')], procedures: [px('icd9pcs:3893')], medications: [med('m1', 'A10B'), med('m2', 'A10B', 'N02B')] }),
      visit('v2', { start: '2151-03-04T10:00:00Z', ageYears: 65, admissionType: 'URGENT', diagnoses: [dx('icd10cm:I10')], procedures: [], medications: [med('m3', 'C09A'), med('m4')] }),
      visit('v3', { start: '2152-05-06T10:00:00Z', ageYears: 66, admissionType: 'EW EMER.', diagnoses: [dx('icd10cm:N18.3'), dx('icd9cm:999'), dx('icd10cm:N18.3')], procedures: [px('icd10pcs:0DJ08ZZ')], medications: [med('m5', 'C03C'), med('m6', 'C99X'), med('m7', 'B01A')] }),
    ],
    { gender: 'female', birthDate: '2086-01-01', insurance: 'Medicare', language: 'ENGLISH', maritalStatus: 'MARRIED', race: 'WHITE' },
  );
}

/** One visit only (a first-visit patient). */
export function singleVisitPatient(): PatientTimeline {
  return timeline(
    '7',
    [visit('s1', { ageYears: 17, admissionType: 'ELECTIVE', diagnoses: [dx('icd10cm:E11.65', 'T2DM display')], procedures: [], medications: [med('s1m', 'A10B')] })],
    { gender: 'male', ethnicity: 'Hispanic or Latino', language: 'Spanish' },
  );
}

/** `n` visits, visit k (1-based) has diagnosis `icd10cm:D<k>`, procedure `icd10pcs:P<k>` and medication class `M<k>`+ ... */
export function longPatient(id: string, n: number): PatientTimeline {
  const visits: TimelineVisit[] = [];
  for (let k = 1; k <= n; k++) {
    visits.push(visit(`${id}-${k}`, { ageYears: 40 + k, diagnoses: [dx(`icd10cm:D${k}`)], procedures: [px(`icd10pcs:P${k}`)], medications: [med(`${id}-m${k}`, k % 2 ? 'A10B' : 'C09A')] }));
  }
  return timeline(id, visits, { gender: 'other' });
}
