import type { CurrentMedication } from './recommendation.types';

/** One MedicationRequest or MedicationStatement of the patient, classed, with the dates that matter. */
export interface MedicationUse {
  drug: string;
  atc3: string[];
  source: 'MedicationRequest' | 'MedicationStatement';
  /** FHIR status of the request or statement. */
  status: string;
  /** When the use started or was ordered (authoredOn, effective start). */
  start?: string;
  /** When the use ended or the order's validity ends, when recorded. */
  end?: string;
}

/** Default window in which an ended medication still counts as current (days before the visit). */
export const DEFAULT_CURRENT_MEDICATION_DAYS = 90;

/** Still running. */
const ACTIVE = new Set(['active', 'on-hold', 'intended']);
/** Ended: current only when it ended inside the window. */
const ENDED = new Set(['completed', 'stopped', 'unknown']);
const DAY_MS = 86_400_000;

/**
 * The patient's current medications at `asOf`: active (or on hold, or intended) requests and
 * statements, and those that ended (or, without an end, started) within `windowDays` before `asOf`.
 * Uses dated after `asOf` are left out (they are not history yet). Pure: the clock is an argument.
 */
export function currentMedications(uses: Iterable<MedicationUse>, asOf: Date, windowDays = DEFAULT_CURRENT_MEDICATION_DAYS): CurrentMedication[] {
  const at = asOf.getTime();
  const from = at - windowDays * DAY_MS;
  const out: CurrentMedication[] = [];
  for (const u of uses) {
    const start = dateMs(u.start);
    if (start !== undefined && start > at) continue;
    const end = dateMs(u.end);
    let current = false;
    if (ACTIVE.has(u.status)) current = end === undefined || end >= from;
    else if (ENDED.has(u.status)) {
      const last = end ?? start;
      current = last !== undefined && last >= from && last <= at + DAY_MS;
    }
    if (!current) continue;
    const ended = ACTIVE.has(u.status) ? undefined : u.end ?? u.start;
    out.push({ drug: u.drug, atc3: u.atc3, source: u.source, status: u.status, ...(ended ? { ended } : {}) });
  }
  return out;
}

function dateMs(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}
