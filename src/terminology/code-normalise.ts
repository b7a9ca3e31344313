/**
 * Pure code normalisers shared by the mapping builder (fhir-mappings/) and the runtime lookups, so
 * that a key is written and looked up in exactly the same form.
 */

/** Remove dots and surrounding space, upper-case (ICD codes arrive dotted from EHRs, undotted from MIMIC). */
export function undotCode(code: string): string {
  return code.trim().replace(/\./g, '').toUpperCase();
}

/** ICD-9-CM diagnosis, dotted: dot after 3 characters (numeric and V codes) or 4 (E codes). `4019` → `401.9`, `E8490` → `E849.0`. */
export function dotIcd9Diagnosis(code: string): string {
  const c = undotCode(code);
  const head = c.startsWith('E') ? 4 : 3;
  return c.length > head ? `${c.slice(0, head)}.${c.slice(head)}` : c;
}

/** ICD-10-CM, dotted: dot after 3 characters when longer. `E119` → `E11.9`. */
export function dotIcd10cm(code: string): string {
  const c = undotCode(code);
  return c.length > 3 ? `${c.slice(0, 3)}.${c.slice(3)}` : c;
}

/** ICD-9-CM volume 3 (procedures), dotted: dot after 2 characters. `3893` → `38.93`. */
export function dotIcd9Procedure(code: string): string {
  const c = undotCode(code);
  return c.length > 2 ? `${c.slice(0, 2)}.${c.slice(2)}` : c;
}

/** Shapes of a 10-digit hyphenated NDC and how each pads to the 11-digit 5-4-2 form. */
const NDC_SEGMENT_WIDTHS: ReadonlyArray<readonly [number, number, number]> = [
  [4, 4, 2],
  [5, 3, 2],
  [5, 4, 1],
  [5, 4, 2],
];

/**
 * An NDC in the 11-digit 5-4-2 form without hyphens (as MIMIC stores it), or undefined when the
 * value cannot be an NDC. Accepts 11 plain digits and the hyphenated 4-4-2, 5-3-2, 5-4-1 and 5-4-2
 * forms (FHIR). Ten plain digits are rejected: without hyphens the padding position is unknown.
 * MIMIC's "no NDC" value `0` (and all zeros) is rejected too.
 */
export function normaliseNdc(value: string): string | undefined {
  const v = value.trim();
  let digits: string | undefined;
  if (/^\d{11}$/.test(v)) {
    digits = v;
  } else {
    const parts = v.split('-');
    if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p))) return undefined;
    const shape = NDC_SEGMENT_WIDTHS.find((w) => w.every((n, i) => parts[i].length === n));
    if (!shape) return undefined;
    digits = parts[0].padStart(5, '0') + parts[1].padStart(4, '0') + parts[2].padStart(2, '0');
  }
  return /^0+$/.test(digits) ? undefined : digits;
}

/** MIMIC `gsn` cells may hold several space-separated 6-digit GSNs (and leading zeros may have been lost). */
export function splitGsn(value: string): string[] {
  const out: string[] = [];
  for (const part of value.trim().split(/[\s,;]+/)) {
    if (!/^\d{1,6}$/.test(part) || /^0+$/.test(part)) continue;
    const gsn = part.padStart(6, '0');
    if (!out.includes(gsn)) out.push(gsn);
  }
  return out;
}

/** ATC level 3 (4 characters, e.g. `N02B`) of an ATC code of level 3 or deeper; undefined for shorter or malformed codes. */
export function atc3Of(atc: string): string | undefined {
  const c = atc.trim().toUpperCase();
  return /^[A-Z]\d\d[A-Z]/.test(c) ? c.slice(0, 4) : undefined;
}

/**
 * Drug name key: lower case, accents stripped, punctuation to spaces (keeping `%`, and `.` or `/`
 * inside numbers such as `0.9%`), whitespace collapsed. `"Sodium Chloride 0.9%  Flush"` →
 * `"sodium chloride 0.9% flush"`.
 */
export function normaliseDrugName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/(\d)[.,](\d)/g, '$1\u0000$2')
    .replace(/(\d)\/(\d)/g, '$1\u0001$2')
    .replace(/[^a-z0-9%\u0000\u0001]+/g, ' ')
    .replace(/\u0000/g, '.')
    .replace(/\u0001/g, '/')
    .trim()
    .replace(/\s+/g, ' ');
}

/** Shortest shortened name tried: the MIMIC name map holds truncated keys such as "acet" or "c" that must only match exactly. */
const MIN_SHORTENED_KEY = 5;

/**
 * Keys to try for a drug name, most specific first: the whole normalised name, then the name with
 * trailing words dropped one by one ("vancomycin hcl" → "vancomycin"), so salt, strength, form and
 * packaging words after the drug name do not prevent a match. Shortened keys under 5 characters
 * are not tried.
 */
export function drugNameCandidates(name: string): string[] {
  const words = normaliseDrugName(name).split(' ').filter((w) => w.length > 0);
  const out: string[] = [];
  for (let n = words.length; n >= 1; n--) {
    const key = words.slice(0, n).join(' ');
    if (n === words.length || key.length >= MIN_SHORTENED_KEY) out.push(key);
  }
  return out;
}
