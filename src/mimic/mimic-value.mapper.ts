import type { Coding, CodeableConcept, Extension, Quantity, Range } from 'fhir/r4';
import { EXTENSION, SYSTEM } from '../terminology/code-systems';

/** Pure value mappings from MIMIC strings to FHIR datatypes. No regular expressions: these run per row. */

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isIsoDate(s: string): boolean {
  return (
    s.length >= 10 && isDigit(s.charCodeAt(0)) && isDigit(s.charCodeAt(1)) && isDigit(s.charCodeAt(2)) && isDigit(s.charCodeAt(3)) &&
    s.charCodeAt(4) === 45 && isDigit(s.charCodeAt(5)) && isDigit(s.charCodeAt(6)) && s.charCodeAt(7) === 45 &&
    isDigit(s.charCodeAt(8)) && isDigit(s.charCodeAt(9))
  );
}

/** `YYYY-MM-DD` from a MIMIC date or timestamp, or undefined when it is not one. */
export function toFhirDate(value: string): string | undefined {
  const s = value.trim();
  return isIsoDate(s) ? s.slice(0, 10) : undefined;
}

/**
 * A FHIR dateTime from a MIMIC timestamp. MIMIC times are date-shifted local times without a zone;
 * FHIR requires a zone once a time is given, so "Z" is appended consistently (the instant is not
 * real anyway: only intervals within one patient are meaningful). A bare date stays a date.
 * Returns undefined when the value is not a date or timestamp.
 */
export function toFhirDateTime(value: string): string | undefined {
  const s = value.trim();
  if (!isIsoDate(s)) return undefined;
  if (s.length === 10) return s;
  const sep = s.charCodeAt(10);
  if ((sep !== 32 && sep !== 84) || s.length < 16 || s.charCodeAt(13) !== 58) return undefined;
  if (!isDigit(s.charCodeAt(11)) || !isDigit(s.charCodeAt(12)) || !isDigit(s.charCodeAt(14)) || !isDigit(s.charCodeAt(15))) return undefined;
  // Checked in place and sliced once (this runs twice per prescription).
  if (s.length >= 19 && s.charCodeAt(16) === 58) {
    if (!isDigit(s.charCodeAt(17)) || !isDigit(s.charCodeAt(18))) return undefined;
    return `${s.slice(0, 10)}T${s.slice(11, 19)}Z`;
  }
  return `${s.slice(0, 10)}T${s.slice(11, 16)}:00Z`;
}

/** A MIMIC date that carries a meaningless 00:00:00 (MIMIC-III dob/dod) as a FHIR date. */
export function dateOnly(value: string): string | undefined {
  return toFhirDate(value);
}

const ENCOUNTER_CLASS_DISPLAY: Record<string, string> = {
  EMER: 'emergency',
  AMB: 'ambulatory',
  OBSENC: 'observation encounter',
  SS: 'short stay',
  IMP: 'inpatient encounter',
};

/**
 * Encounter.class (v3-ActCode) from admission_type, as MIMIC-IV on FHIR maps it (cds-fhir.md §4.2):
 * emergency types → EMER, URGENT/ELECTIVE/AMBULATORY OBSERVATION → AMB, other observation types →
 * OBSENC, SURGICAL SAME DAY ADMISSION → SS. MIMIC-III: EMERGENCY → EMER, URGENT/ELECTIVE → AMB.
 * NEWBORN (MIMIC-III only) and unknown types are inpatient stays → IMP; `mapped` is false for unknown ones.
 */
export function encounterClass(admissionType: string): { coding: Coding; mapped: boolean } {
  const t = admissionType.trim().toUpperCase();
  let code: string | undefined;
  if (t === 'URGENT' || t === 'ELECTIVE' || t === 'AMBULATORY OBSERVATION') code = 'AMB';
  else if (t === 'SURGICAL SAME DAY ADMISSION') code = 'SS';
  else if (t.indexOf('OBSERVATION') !== -1) code = 'OBSENC';
  else if (t.indexOf('EMER') !== -1) code = 'EMER';
  else if (t === 'NEWBORN') code = 'IMP';
  const mapped = code !== undefined;
  const c = code ?? 'IMP';
  return { coding: { system: SYSTEM.v3ActCode, code: c, display: ENCOUNTER_CLASS_DISPLAY[c] }, mapped };
}

const MARITAL: Record<string, [string, string]> = {
  MARRIED: ['M', 'Married'],
  SINGLE: ['S', 'Never Married'],
  WIDOWED: ['W', 'Widowed'],
  DIVORCED: ['D', 'Divorced'],
  SEPARATED: ['L', 'Legally Separated'],
  'LIFE PARTNER': ['T', 'Domestic partner'],
};

/** v3-MaritalStatus coding where the MIMIC string maps, text = the MIMIC string; undefined when empty. */
export function maritalStatus(value: string): CodeableConcept | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  const m = MARITAL[text.toUpperCase()];
  return m ? { coding: [{ system: SYSTEM.v3MaritalStatus, code: m[0], display: m[1] }], text } : { text };
}

/** MIMIC-IV writes full names, MIMIC-III four-letter abbreviations. */
const LANGUAGE: Record<string, [string, string]> = {
  ENGLISH: ['en', 'English'], ENGL: ['en', 'English'],
  SPANISH: ['es', 'Spanish'], SPAN: ['es', 'Spanish'],
  RUSSIAN: ['ru', 'Russian'], RUSS: ['ru', 'Russian'],
  PORTUGUESE: ['pt', 'Portuguese'], PORT: ['pt', 'Portuguese'],
  POLISH: ['pl', 'Polish'], POLI: ['pl', 'Polish'],
  ITALIAN: ['it', 'Italian'], ITAL: ['it', 'Italian'],
  FRENCH: ['fr', 'French'], FREN: ['fr', 'French'],
  VIETNAMESE: ['vi', 'Vietnamese'], VIET: ['vi', 'Vietnamese'],
  ARABIC: ['ar', 'Arabic'], ARAB: ['ar', 'Arabic'],
  GREEK: ['el', 'Greek'], GREE: ['el', 'Greek'],
  'HAITIAN CREOLE': ['ht', 'Haitian Creole'], HAIT: ['ht', 'Haitian Creole'],
  MANDARIN: ['zh', 'Chinese'], MAND: ['zh', 'Chinese'],
  CANTONESE: ['yue', 'Cantonese'], CANT: ['yue', 'Cantonese'],
};

/** BCP-47 language where the MIMIC string maps, text = the MIMIC string; undefined when empty or '?' (unknown). */
export function language(value: string): CodeableConcept | undefined {
  const text = value.trim();
  if (text === '' || text === '?') return undefined;
  const l = LANGUAGE[text.toUpperCase()];
  return l ? { coding: [{ system: 'urn:ietf:bcp:47', code: l[0], display: l[1] }], text } : { text };
}

const OMB = 'urn:oid:2.16.840.1.113883.6.238';

/** US Core race: ombCategory where the MIMIC race/ethnicity string is unambiguous, plus the required text. */
export function raceExtension(value: string): Extension | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  const t = text.toUpperCase();
  let omb: Coding | undefined;
  if (t.startsWith('WHITE')) omb = { system: OMB, code: '2106-3', display: 'White' };
  else if (t.startsWith('BLACK')) omb = { system: OMB, code: '2054-5', display: 'Black or African American' };
  else if (t.startsWith('ASIAN')) omb = { system: OMB, code: '2028-9', display: 'Asian' };
  else if (t.startsWith('AMERICAN INDIAN')) omb = { system: OMB, code: '1002-5', display: 'American Indian or Alaska Native' };
  else if (t.startsWith('NATIVE HAWAIIAN')) omb = { system: OMB, code: '2076-8', display: 'Native Hawaiian or Other Pacific Islander' };
  const extension: Extension[] = [];
  if (omb) extension.push({ url: 'ombCategory', valueCoding: omb });
  extension.push({ url: 'text', valueString: text });
  return { url: EXTENSION.usCoreRace, extension };
}

/** US Core ethnicity, only for the Hispanic/Latino MIMIC values (MIMIC folds ethnicity into race). */
export function ethnicityExtension(value: string): Extension | undefined {
  const text = value.trim();
  const t = text.toUpperCase();
  if (!t.startsWith('HISPANIC') && !t.startsWith('SOUTH AMERICAN')) return undefined;
  return {
    url: EXTENSION.usCoreEthnicity,
    extension: [
      { url: 'ombCategory', valueCoding: { system: OMB, code: '2135-2', display: 'Hispanic or Latino' } },
      { url: 'text', valueString: text },
    ],
  };
}

export function gender(value: string): 'male' | 'female' | 'unknown' {
  const g = value.trim().toUpperCase();
  return g === 'F' ? 'female' : g === 'M' ? 'male' : 'unknown';
}

/** A decimal number as MIMIC writes doses ("0.5", "25,000"); undefined otherwise. */
export function parseDecimal(value: string): number | undefined {
  let s = value.trim();
  if (s === '') return undefined;
  if (s.indexOf(',') !== -1) s = s.split(',').join('');
  const n = Number(s);
  return Number.isFinite(n) && s !== '' ? n : undefined;
}

/** dose_val_rx as a FHIR dose: a number → doseQuantity, "1-2" → doseRange, anything else → undefined. */
export function parseDose(value: string, unit: string): { doseQuantity: Quantity } | { doseRange: Range } | undefined {
  const u = unit.trim();
  const single = parseDecimal(value);
  if (single !== undefined) return { doseQuantity: quantity(single, u) };
  const dash = value.indexOf('-', 1);
  if (dash > 0) {
    const low = parseDecimal(value.slice(0, dash));
    const high = parseDecimal(value.slice(dash + 1));
    if (low !== undefined && high !== undefined) return { doseRange: { low: quantity(low, u), high: quantity(high, u) } };
  }
  return undefined;
}

function quantity(value: number, unit: string): Quantity {
  return unit === '' ? { value } : { value, unit };
}

/** An 11-digit NDC (the form SYSTEM.ndc wants), or undefined for '', '0' and other forms. */
export function ndc11(value: string): string | undefined {
  const s = value.trim();
  if (s.length !== 11) return undefined;
  for (let i = 0; i < 11; i++) if (!isDigit(s.charCodeAt(i))) return undefined;
  return s === '00000000000' ? undefined : s;
}
