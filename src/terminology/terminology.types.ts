import type { Coding } from 'fhir/r4';
import type { ChosenClass, Route } from './atc-choice';
import type { MedicationProduct } from './medication-resolver';

/** The ATC classes of one medication and how they were chosen; `rule` is `not-assessed` when nothing maps, so callers can say so by name. */
export interface MedicationClasses {
  /** The medication's name for people (its parts joined), when it has one. */
  display?: string;
  /** The codes it was classed from. */
  codes: Coding[];
  /** ATC level-3 classes, sorted; empty when not assessed. */
  atc3: string[];
  /** The rules that chose the classes (`substance`, `route`, `code-map`, `combination`, … joined by `+`), or `not-assessed`. */
  rule: string;
  /** The step of the code ladder that produced the classes (atc, ndc, rxnorm, gsn, name) or none. */
  source: 'atc' | 'ndc' | 'rxnorm' | 'gsn' | 'name' | 'none';
  /** The route the choice assumed, when known. */
  route?: Route;
  /** Every class with the rule and reason that chose it. */
  classes: ChosenClass[];
}

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
   * NDC/GSN/formulary/name) and, as a fallback, its drug name; codings written by
   * `flattenProduct` also carry a mix's parts and the route, form and strength. Empty when nothing maps.
   */
  medicationAtc3(codings: Coding[], text?: string): string[];
  /** The classes of a resolved medication (see `resolveMedication`) with the rule that chose each; rule `not-assessed` when none. */
  classifyMedication(product: MedicationProduct): MedicationClasses;
  /** WHO name of an ATC3 class (lower case as in the WHO index), if known. */
  atc3Name(atc3: string): string | undefined;
  /** Title of a diagnosis/procedure token (`icd10cm:E11.9` → "Type 2 diabetes mellitus without complications"). */
  codeTitle(token: string): string | undefined;
  /** Interacting ATC3 pairs (TWOSIDES-derived), each unordered pair once. */
  ddiPairs(): ReadonlyArray<readonly [string, string]>;
}
