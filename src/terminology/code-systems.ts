/** FHIR code system URIs used across the data path (cds-fhir.md §4.1, §4.2). */
export const SYSTEM = {
  icd9cm: 'http://hl7.org/fhir/sid/icd-9-cm',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  icd10pcs: 'http://www.cms.gov/Medicare/Coding/ICD10',
  icd10pcsAlias: 'http://terminology.hl7.org/CodeSystem/icd10PCS',
  snomed: 'http://snomed.info/sct',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  ndc: 'http://hl7.org/fhir/sid/ndc',
  atc: 'http://www.whocc.no/atc',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  v3ActCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  v3MaritalStatus: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus',
} as const;

/** MIMIC-IV on FHIR local code systems (kind-lab/mimic-fhir). */
const MIMIC_CS = 'http://mimic.mit.edu/fhir/mimic/CodeSystem';
export const MIMIC_SYSTEM = {
  diagnosisIcd9: `${MIMIC_CS}/mimic-diagnosis-icd9`,
  diagnosisIcd10: `${MIMIC_CS}/mimic-diagnosis-icd10`,
  procedureIcd9: `${MIMIC_CS}/mimic-procedure-icd9`,
  procedureIcd10: `${MIMIC_CS}/mimic-procedure-icd10`,
  medicationNdc: `${MIMIC_CS}/mimic-medication-ndc`,
  medicationGsn: `${MIMIC_CS}/mimic-medication-gsn`,
  medicationFormulary: `${MIMIC_CS}/mimic-medication-formulary-drug-cd`,
  medicationName: `${MIMIC_CS}/mimic-medication-name`,
  medicationRoute: `${MIMIC_CS}/mimic-medication-route`,
  admissionType: `${MIMIC_CS}/mimic-admission-type`,
  insurance: `${MIMIC_CS}/mimic-insurance`,
} as const;
export const MIMIC_IDENTIFIER = 'http://mimic.mit.edu/fhir/mimic/identifier';
export const MIMIC_PROFILE = 'http://mimic.mit.edu/fhir/mimic/StructureDefinition';

/**
 * Vocabulary token prefixes. Diagnosis and procedure codes keep their system, so an ICD-9
 * diagnosis and an ICD-9 procedure with the same digits never collide (leader.md §7.8).
 */
export const TOKEN_PREFIX = {
  icd9cm: 'icd9cm',
  icd10cm: 'icd10cm',
  icd9pcs: 'icd9pcs',
  icd10pcs: 'icd10pcs',
  snomed: 'sct',
  atc3: 'atc3',
} as const;

/** Extensions the MIMIC converter writes and the timeline reads (profile fields LEADER uses). */
export const EXTENSION = {
  /** Encounter: the admission's insurance (MIMIC admissions.insurance); valueString. Project-defined: R4 has no Encounter field for it. */
  encounterInsurance: 'http://leader-cds.org/fhir/StructureDefinition/encounter-insurance',
  /** Encounter: the admission's language (MIMIC admissions.language); valueString. */
  encounterLanguage: 'http://leader-cds.org/fhir/StructureDefinition/encounter-language',
  /** Encounter: marital status at the admission; valueCodeableConcept (v3-MaritalStatus + text). */
  encounterMaritalStatus: 'http://leader-cds.org/fhir/StructureDefinition/encounter-marital-status',
  usCoreRace: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
  usCoreEthnicity: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity',
  usCoreBirthSex: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex',
} as const;
