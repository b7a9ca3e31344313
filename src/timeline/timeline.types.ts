/**
 * The patient timeline: the one shape that both training (MIMIC → FHIR → dataset) and serving
 * (CDS Hooks prefetch → cards) read a patient through. Built from FHIR R4 resources by
 * `buildTimeline` (timeline.ts); consumed by leader/prompt (teacher text) and leader/tensors
 * (student inputs). Contains no MIMIC rows and no CDS JSON.
 */

import type { CodeToken } from '../terminology/terminology.types';

/** A diagnosis or procedure code of a visit: the terminology's normalised, namespaced code. */
export type TimelineCode = CodeToken;

/** One medication order (MedicationRequest) classed into ATC level 3, LEADER's label space. */
export interface TimelineMedication {
  /** `MedicationRequest/<id>` this entry came from. */
  requestRef: string;
  /** ATC level-3 classes (4 characters, e.g. `N02B`); empty when the medication could not be mapped. */
  atc3: string[];
  /** Text shown for the order (coding display, Medication.code.text or drug name). */
  text?: string;
  /** MedicationRequest.status (draft orders keep `draft`). */
  status?: string;
}

export interface TimelineVisit {
  /** `Encounter/<id>`, or a synthetic `unlinked:<date>` visit for resources without an encounter. */
  encounterRef: string;
  /** ISO date-time the visit started (Encounter.period.start). */
  start?: string;
  end?: string;
  /** Whole years between Patient.birthDate and `start`; never computed against the wall clock. */
  ageYears?: number;
  /** Admission type (MIMIC admission_type via Encounter.type/class/priority text). */
  admissionType?: string;
  /** Per-admission profile values (MIMIC admissions: insurance, language, marital status), from Encounter extensions. */
  insurance?: string;
  language?: string;
  maritalStatus?: string;
  diagnoses: TimelineCode[];
  procedures: TimelineCode[];
  medications: TimelineMedication[];
}

/** Patient-level fields LEADER's profile encoder uses, plus gender. Absent fields stay undefined. */
export interface PatientProfile {
  gender?: string;
  birthDate?: string;
  insurance?: string;
  language?: string;
  maritalStatus?: string;
  race?: string;
  ethnicity?: string;
}

export interface PatientTimeline {
  /** `Patient/<id>`. */
  patientRef: string;
  profile: PatientProfile;
  /** Visits in time order (oldest first). */
  visits: TimelineVisit[];
  /** Codings that could not be placed or mapped, by reason (e.g. `medication:unmapped-atc3`), for coverage reports. */
  issues: Record<string, number>;
}
