/**
 * The files of fhir-mappings/: written by `leader build-mappings` (build/mappings.builder.ts) and
 * read by `Terminology.load`. One name per map so both sides agree.
 */
export const MAPPING_FILE = {
  ndcAtc3: 'conceptmap-ndc-atc3-molerec.json',
  ndcRxnorm: 'conceptmap-ndc-rxnorm-gamenet.json',
  rxnormAtc3Synthea: 'conceptmap-rxnorm-atc3-synthea.json',
  rxnormAtc3ViaNdc: 'conceptmap-rxnorm-atc3-via-ndc.json',
  gsnAtc3: 'conceptmap-gsn-atc3-ethos.json',
  drugNameAtc3: 'conceptmap-drugname-atc3.json',
  icd9cmIcd10cm: 'conceptmap-icd9cm-icd10cm-gem.json',
  snomedIcd10cm: 'conceptmap-snomed-icd10cm-synthea-unreviewed.json',
  mimicLocalSystems: 'conceptmap-mimic-local-systems.json',
  atcCodeSystem: 'codesystem-atc.json',
  titlesIcd9cmDiagnosis: 'titles-icd9cm-diagnosis.json',
  titlesIcd9cmProcedure: 'titles-icd9cm-procedure.json',
  titlesIcd10cm: 'titles-icd10cm.json',
  ddiAtc3Pairs: 'ddi-atc3-pairs.json',
  atcRouteRules: 'atc-route-rules.json',
  index: 'index.json',
} as const;

/** Canonical URL base of the ConceptMaps and CodeSystems written here. */
export const MAPPING_URL_BASE = 'http://leader-cds.org/fhir';

/**
 * Code titles in a compact, CodeSystem-like file: the CodeSystem's metadata fields plus `concept`
 * as `[code, title]` pairs sorted by code (a CodeSystem `concept[]` of objects adds ~30 % for ~100k
 * codes, and one object with 70k keys parses ~5x slower than pairs). Codes are stored undotted,
 * as MIMIC stores them.
 */
export interface CodeTitlesFile {
  resourceType: 'CodeTitles';
  url: string;
  system: string;
  name: string;
  title: string;
  publisher: string;
  description: string;
  copyright: string;
  count: number;
  concept: Array<[string, string]>;
}

/** The interacting ATC3 pairs, copied from ../shared so the service never reads ../shared at runtime. */
export interface DdiPairsFile {
  resourceType: 'AtcInteractionPairs';
  url: string;
  publisher: string;
  description: string;
  copyright: string;
  count: number;
  pairs: Array<[string, string]>;
}

/** Lists every file with its sha256, so a model manifest can pin the terminology it was trained with. */
export interface MappingIndexFile {
  description: string;
  files: Array<{ file: string; sha256: string; bytes: number; kind: string }>;
}
