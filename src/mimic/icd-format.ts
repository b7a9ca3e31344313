/**
 * MIMIC stores ICD codes undotted; EHRs and the standard FHIR code systems use dotted forms
 * (cds-fhir.md §4.2, normalisation table). Pure functions, reused by the terminology code.
 * Input is trimmed and upper-cased; an already dotted code is returned in canonical dotted form.
 */

function clean(code: string): string {
  let c = code.trim().toUpperCase();
  if (c.indexOf('.') !== -1) c = c.split('.').join('');
  return c;
}

function dotAfter(code: string, n: number): string {
  return code.length > n ? `${code.slice(0, n)}.${code.slice(n)}` : code;
}

/** ICD-9-CM diagnosis: dot after 3 characters (numeric and V codes) or 4 (E codes): 4019→401.9, V5861→V58.61, E8490→E849.0. */
export function dotIcd9Diagnosis(code: string): string {
  const c = clean(code);
  return dotAfter(c, c.startsWith('E') ? 4 : 3);
}

/** ICD-10-CM diagnosis: dot after 3 characters when longer: E119→E11.9, I10→I10. */
export function dotIcd10Diagnosis(code: string): string {
  return dotAfter(clean(code), 3);
}

/** ICD-9-CM volume 3 procedure: dot after 2 characters: 3893→38.93. */
export function dotIcd9Procedure(code: string): string {
  return dotAfter(clean(code), 2);
}

/** ICD-10-PCS has no dots: 7 characters as stored (upper-cased, dots removed). */
export function normalizeIcd10Procedure(code: string): string {
  return clean(code);
}

/** The undotted, trimmed, upper-case form MIMIC uses in its local code systems. */
export function undotIcd(code: string): string {
  return clean(code);
}
