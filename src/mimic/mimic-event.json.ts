import type { Quantity, Range } from 'fhir/r4';
import { MIMIC_IDENTIFIER, MIMIC_PROFILE, MIMIC_SYSTEM, SYSTEM } from '../terminology/code-systems';

/**
 * NDJSON lines for the three high-volume resources (Condition, Procedure, MedicationRequest), built
 * by concatenating pre-serialised constant fragments with escaped values. JSON.stringify of a fresh
 * nested object per row was the largest cost of a conversion (and most of its garbage); this gives
 * the same bytes (same key order, absent values left out) several times faster. The low-volume
 * resources (Patient, Encounter, Medication) still go through JSON.stringify.
 */

/** A JSON string literal; the fast path skips JSON.stringify when nothing needs escaping. */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

const j = JSON.stringify;

export interface CodingParts {
  system: string;
  code: string;
  display?: string;
}

function coding(c: CodingParts): string {
  return `{"system":${j(c.system)},"code":${jsonString(c.code)}${c.display === undefined ? '' : `,"display":${jsonString(c.display)}`}}`;
}

const CONDITION_HEAD = '{"resourceType":"Condition","id":';
const CONDITION_META = `,"meta":${j({ profile: [`${MIMIC_PROFILE}/mimic-condition`] })},"category":${j([
  { coding: [{ system: SYSTEM.conditionCategory, code: 'encounter-diagnosis', display: 'Encounter Diagnosis' }] },
])}`;

/** Condition (encounter-diagnosis) with the MIMIC local and the standard ICD coding. */
export function conditionJson(id: string, local: CodingParts, standard: CodingParts, patientId: string, encounterId?: string): string {
  return `${CONDITION_HEAD}"${id}"${CONDITION_META},"code":{"coding":[${coding(local)},${coding(standard)}]},"subject":{"reference":"Patient/${patientId}"}${
    encounterId === undefined ? '' : `,"encounter":{"reference":"Encounter/${encounterId}"}`}}`;
}

const PROCEDURE_HEAD = '{"resourceType":"Procedure","id":';
const PROCEDURE_META = `,"meta":${j({ profile: [`${MIMIC_PROFILE}/mimic-procedure`] })},"status":"completed"`;

export function procedureJson(id: string, local: CodingParts, standard: CodingParts, patientId: string, encounterId?: string, performed?: string): string {
  return `${PROCEDURE_HEAD}"${id}"${PROCEDURE_META},"code":{"coding":[${coding(local)},${coding(standard)}]},"subject":{"reference":"Patient/${patientId}"}${
    encounterId === undefined ? '' : `,"encounter":{"reference":"Encounter/${encounterId}"}`}${
    performed === undefined ? '' : `,"performedDateTime":${jsonString(performed)}`}}`;
}

export interface MedicationRequestParts {
  id: string;
  identifierSystem: string;
  identifierValue: string;
  status: 'completed' | 'unknown';
  medicationId: string;
  drug: string;
  patientId: string;
  encounterId?: string;
  start?: string;
  stop?: string;
  strength: string;
  route: string;
  dose?: { doseQuantity: Quantity } | { doseRange: Range };
}

const MR_HEAD = '{"resourceType":"MedicationRequest","id":';
const MR_META = `,"meta":${j({ profile: [`${MIMIC_PROFILE}/mimic-medication-request`] })}`;
const ROUTE_SYSTEM = j(MIMIC_SYSTEM.medicationRoute);
export const MEDICATION_REQUEST_IDENTIFIER = {
  pharmacyId: `${MIMIC_IDENTIFIER}/medication-request-phid`,
  rowId: `${MIMIC_IDENTIFIER}/medication-request-row-id`,
};

/** `{"value":n,"unit":u}` exactly as JSON.stringify writes a Quantity built as { value, unit? }. */
function quantityJson(q: Quantity): string {
  return q.unit === undefined ? `{"value":${numberJson(q.value!)}}` : `{"value":${numberJson(q.value!)},"unit":${jsonString(q.unit)}}`;
}

/** A number as JSON.stringify writes it (finite: the shortest round-trip form, as String(n); else null). */
function numberJson(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

function doseJson(dose: { doseQuantity: Quantity } | { doseRange: Range }): string {
  if ('doseQuantity' in dose) return `{"doseQuantity":${quantityJson(dose.doseQuantity)}}`;
  return `{"doseRange":{"low":${quantityJson(dose.doseRange.low!)},"high":${quantityJson(dose.doseRange.high!)}}}`;
}

const IDENTIFIER_HEAD = {
  [MEDICATION_REQUEST_IDENTIFIER.pharmacyId]: `,"identifier":[{"system":${j(MEDICATION_REQUEST_IDENTIFIER.pharmacyId)},"value":`,
  [MEDICATION_REQUEST_IDENTIFIER.rowId]: `,"identifier":[{"system":${j(MEDICATION_REQUEST_IDENTIFIER.rowId)},"value":`,
};

/**
 * MedicationRequest for one prescriptions row; empty strings and undefined values are left out.
 * Plain concatenation only (no arrays, joins or JSON.stringify per row); mimic-event.json.spec.ts
 * compares it with JSON.stringify of the equivalent object.
 */
export function medicationRequestJson(p: MedicationRequestParts): string {
  let s = `${MR_HEAD}"${p.id}"${MR_META}`;
  if (p.identifierValue !== '') {
    const head = IDENTIFIER_HEAD[p.identifierSystem] ?? `,"identifier":[{"system":${j(p.identifierSystem)},"value":`;
    s += `${head}${jsonString(p.identifierValue)}}]`;
  }
  s += `,"status":"${p.status}","intent":"order","medicationReference":{"reference":"Medication/${p.medicationId}"`;
  if (p.drug !== '') s += `,"display":${jsonString(p.drug)}`;
  s += `},"subject":{"reference":"Patient/${p.patientId}"}`;
  if (p.encounterId !== undefined) s += `,"encounter":{"reference":"Encounter/${p.encounterId}"}`;
  const start = p.start === undefined ? undefined : jsonString(p.start);
  if (start !== undefined) s += `,"authoredOn":${start}`;
  if (p.strength !== '' || p.route !== '' || p.dose !== undefined) {
    let sep = ',"dosageInstruction":[{';
    if (p.strength !== '') {
      s += `${sep}"text":${jsonString(p.strength)}`;
      sep = ',';
    }
    if (p.route !== '') {
      const r = jsonString(p.route);
      s += `${sep}"route":{"coding":[{"system":${ROUTE_SYSTEM},"code":${r}}],"text":${r}}`;
      sep = ',';
    }
    if (p.dose !== undefined) s += `${sep}"doseAndRate":[${doseJson(p.dose)}]`;
    s += '}]';
  }
  if (start !== undefined || p.stop !== undefined) {
    s += ',"dispenseRequest":{"validityPeriod":{';
    if (start !== undefined) s += `"start":${start}`;
    if (p.stop !== undefined) s += `${start === undefined ? '' : ','}"end":${jsonString(p.stop)}`;
    s += '}}';
  }
  return `${s}}`;
}
