import type { Coding } from 'fhir/r4';
import type { TimelineCode } from '../timeline/timeline.types';

/**
 * Code lookups the timeline needs, loaded once from fhir-mappings/ (ConceptMap JSON) and the DDI
 * pairs; pure after load. Implemented by `Terminology` (terminology.ts).
 */
export interface TerminologyLookup {
  /** A diagnosis coding (ICD-9-CM, ICD-10-CM, MIMIC local, SNOMED CT) → standard code + token; undefined when the system is not a diagnosis system. SNOMED maps to ICD-10-CM where the (unreviewed) map has it, else stays `sct:`. */
  diagnosis(coding: Coding): TimelineCode | undefined;
  /** A procedure coding (ICD-9-CM vol. 3, ICD-10-PCS, MIMIC local, SNOMED CT) → standard code + token. */
  procedure(coding: Coding): TimelineCode | undefined;
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
