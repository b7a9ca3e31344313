import type { Coding } from 'fhir/r4';

/** A diagnosis or procedure code, normalised to a standard system and namespaced as a token. */
export interface CodeToken {
  /** Namespaced vocabulary token, e.g. `icd10cm:E11.9`, `icd9cm:401.9`, `icd9pcs:38.93`, `icd10pcs:0DJ08ZZ`, `sct:44054006`. */
  token: string;
  /** Standard FHIR system URI of `code` (after MIMIC-local → standard normalisation). */
  system: string;
  code: string;
  /** Human-readable title (from the coding's display or the terminology), used in the teacher prompt. */
  display?: string;
}

/**
 * Code lookups the timeline needs, loaded once from fhir-mappings/ (ConceptMap JSON) and the DDI
 * pairs; pure after load. Implemented by `Terminology` (terminology.ts).
 */
export interface TerminologyLookup {
  /** A diagnosis coding (ICD-9-CM, ICD-10-CM, MIMIC local, SNOMED CT) → standard code + token; undefined when the system is not a diagnosis system. SNOMED maps to ICD-10-CM where the (unreviewed) map has it, else stays `sct:`. */
  diagnosis(coding: Coding): CodeToken | undefined;
  /** A procedure coding (ICD-9-CM vol. 3, ICD-10-PCS, MIMIC local, SNOMED CT) → standard code + token. */
  procedure(coding: Coding): CodeToken | undefined;
  /**
   * ATC level-3 classes for a medication, from its codings (ATC, NDC, RxNorm, GSN, MIMIC local
   * NDC/GSN/formulary/name) and, as a fallback, its drug name. Empty when nothing maps.
   */
  medicationAtc3(codings: Coding[], text?: string): string[];
  /** WHO name of an ATC3 class (lower case as in the WHO index), if known. */
  atc3Name(atc3: string): string | undefined;
  /** Title of a diagnosis/procedure token (`icd10cm:E11.9` → "Type 2 diabetes mellitus without complications"). */
  codeTitle(token: string): string | undefined;
  /** Interacting ATC3 pairs (TWOSIDES-derived), each unordered pair once. */
  ddiPairs(): ReadonlyArray<readonly [string, string]>;
}
