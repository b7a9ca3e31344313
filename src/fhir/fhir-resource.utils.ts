import type { Condition, Encounter, Medication, MedicationRequest, Patient, Procedure, Resource } from 'fhir/r4';
import type { PatientResources } from './fhir-source.types';
import { compareStrings } from '../common/compare-strings';

/** Every FHIR R4 (4.0.1) resource type (from @types/fhir `fhir/r4` FhirResource). */
export const R4_RESOURCE_TYPES: ReadonlySet<string> = new Set(
  (
    'Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse AuditEvent Basic Binary ' +
    'BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement CarePlan CareTeam CatalogEntry ChargeItem ' +
    'ChargeItemDefinition Claim ClaimResponse ClinicalImpression CodeSystem Communication CommunicationRequest ' +
    'CompartmentDefinition Composition ConceptMap Condition Consent Contract Coverage CoverageEligibilityRequest ' +
    'CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric DeviceRequest DeviceUseStatement ' +
    'DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis Encounter Endpoint EnrollmentRequest ' +
    'EnrollmentResponse EpisodeOfCare EventDefinition Evidence EvidenceVariable ExampleScenario ExplanationOfBenefit ' +
    'FamilyMemberHistory Flag Goal GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy Immunization ' +
    'ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice Library Linkage List ' +
    'Location Measure MeasureReport Media Medication MedicationAdministration MedicationDispense MedicationKnowledge ' +
    'MedicationRequest MedicationStatement MedicinalProduct MedicinalProductAuthorization MedicinalProductContraindication ' +
    'MedicinalProductIndication MedicinalProductIngredient MedicinalProductInteraction MedicinalProductManufactured ' +
    'MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect MessageDefinition ' +
    'MessageHeader MolecularSequence NamingSystem NutritionOrder Observation ObservationDefinition OperationDefinition ' +
    'OperationOutcome Organization OrganizationAffiliation Parameters Patient PaymentNotice PaymentReconciliation Person ' +
    'PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire QuestionnaireResponse RelatedPerson ' +
    'RequestGroup ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment ' +
    'RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen SpecimenDefinition StructureDefinition ' +
    'StructureMap Subscription Substance SubstanceNucleicAcid SubstancePolymer SubstanceProtein ' +
    'SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification SupplyDelivery SupplyRequest Task ' +
    'TerminologyCapabilities TestReport TestScript ValueSet VerificationResult VisionPrescription'
  ).split(' '),
);

/** Resource types that exist only in older FHIR versions, with the R4 replacement for the message. */
const PRE_R4_TYPES: Record<string, string> = {
  MedicationOrder: 'DSTU2 (R4 uses MedicationRequest)',
  DiagnosticOrder: 'DSTU2 (R4 uses ServiceRequest)',
  DeviceUseRequest: 'DSTU2 (R4 uses DeviceRequest)',
  Order: 'DSTU2',
  OrderResponse: 'DSTU2',
  Conformance: 'DSTU2 (R4 uses CapabilityStatement)',
  ProcedureRequest: 'STU3 (R4 uses ServiceRequest)',
  ReferralRequest: 'STU3 (R4 uses ServiceRequest)',
  DataElement: 'STU3',
  EligibilityRequest: 'STU3',
  EligibilityResponse: 'STU3',
  ProcessRequest: 'STU3',
  ProcessResponse: 'STU3',
  Sequence: 'STU3 (R4 uses MolecularSequence)',
  ExpansionProfile: 'STU3',
};

/** The resource types a patient timeline is built from. */
export const CLINICAL_TYPES = ['Patient', 'Encounter', 'Condition', 'Procedure', 'MedicationRequest', 'Medication'] as const;
export type ClinicalType = (typeof CLINICAL_TYPES)[number];

/**
 * Why `value` is not a FHIR R4 resource, or undefined when it looks like one. Checks the cheap,
 * decisive signs of DSTU2/STU3/R5 content in the types the timeline reads; not a full validator.
 */
export function fhirR4Problem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  const type = r.resourceType;
  if (typeof type !== 'string' || type === '') return 'no resourceType';
  if (PRE_R4_TYPES[type]) return `resourceType ${type} is ${PRE_R4_TYPES[type]}; only FHIR R4 (4.0.x) is supported`;
  if (!R4_RESOURCE_TYPES.has(type)) return `resourceType ${type} is not a FHIR R4 resource type`;
  const field = (name: string, version: string, instead: string) =>
    `${type}.${name} is ${version} (R4 uses ${instead}); only FHIR R4 (4.0.x) is supported`;
  switch (type) {
    case 'MedicationRequest':
      if ('context' in r) return field('context', 'STU3', 'encounter');
      if ('medication' in r) return field('medication', 'R5 (CodeableReference)', 'medicationCodeableConcept/medicationReference');
      break;
    case 'Condition':
      if ('assertedDate' in r) return field('assertedDate', 'STU3', 'recordedDate');
      if ('context' in r) return field('context', 'STU3', 'encounter');
      if ('patient' in r) return field('patient', 'DSTU2', 'subject');
      if (typeof r.clinicalStatus === 'string') return field('clinicalStatus (a code)', 'DSTU2/STU3', 'a CodeableConcept');
      if (typeof r.verificationStatus === 'string') return field('verificationStatus (a code)', 'DSTU2/STU3', 'a CodeableConcept');
      break;
    case 'Procedure':
      if ('context' in r) return field('context', 'STU3', 'encounter');
      if ('occurrenceDateTime' in r) return field('occurrence[x]', 'R5', 'performed[x]');
      break;
    case 'Encounter':
      if ('patient' in r) return field('patient', 'DSTU2', 'subject');
      if (typeof r.class === 'string') return field('class (a code)', 'DSTU2', 'a Coding');
      if (Array.isArray(r.class)) return field('class (a list)', 'R5', 'one Coding');
      if ('actualPeriod' in r) return field('actualPeriod', 'R5', 'period');
      break;
    case 'Medication':
      if ('isBrand' in r) return field('isBrand', 'STU3', 'nothing');
      if ('product' in r) return field('product', 'DSTU2', 'ingredient/form');
      break;
  }
  return undefined;
}

/** What a reference string points at. */
export interface ParsedReference {
  /** Resource type when the reference says it (`Patient/1`, `http://x/fhir/Patient/1`), else undefined. */
  type?: string;
  /** The resource id (for `urn:uuid:<u>`, `<u>`: Synthea and most converters use the uuid as the id). */
  id: string;
}

const TYPED_REF = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** Parses `Type/id`, an absolute `…/Type/id[/_history/v]` or `urn:uuid:<u>`; undefined for `#contained` and others. */
export function parseReference(reference: string | undefined): ParsedReference | undefined {
  if (!reference) return undefined;
  if (reference.startsWith('urn:uuid:')) return { id: reference.slice(9) };
  const m = TYPED_REF.exec(reference);
  return m ? { type: m[1], id: m[2] } : undefined;
}

/** The id of the patient a resource belongs to (Patient.id itself, else subject/patient reference). */
export function patientIdOf(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  const r = resource as { subject?: { reference?: string }; patient?: { reference?: string } };
  const ref = parseReference(r.subject?.reference ?? r.patient?.reference);
  if (!ref || (ref.type !== undefined && ref.type !== 'Patient')) return undefined;
  return ref.id;
}

/** Per-patient buckets as sources fill them; `medications` are resolved separately (they are shared). */
export interface PatientBucket {
  patient?: Patient;
  encounters: Encounter[];
  conditions: Condition[];
  procedures: Procedure[];
  medicationRequests: MedicationRequest[];
}

export function emptyBucket(): PatientBucket {
  return { encounters: [], conditions: [], procedures: [], medicationRequests: [] };
}

/** Adds a clinical resource to its bucket; false when the type is not one a bucket holds. */
export function addToBucket(bucket: PatientBucket, resource: Resource): boolean {
  switch (resource.resourceType) {
    case 'Patient':
      bucket.patient = resource as Patient;
      return true;
    case 'Encounter':
      bucket.encounters.push(resource as Encounter);
      return true;
    case 'Condition':
      bucket.conditions.push(resource as Condition);
      return true;
    case 'Procedure':
      bucket.procedures.push(resource as Procedure);
      return true;
    case 'MedicationRequest':
      bucket.medicationRequests.push(resource as MedicationRequest);
      return true;
    default:
      return false;
  }
}

/**
 * The Medication resources a patient's requests need: each `medicationReference` and, for
 * multi-ingredient "mix" Medications (MIMIC), the ingredient Medications, transitively.
 */
export function medicationsFor(requests: MedicationRequest[], lookup: (id: string) => Medication | undefined): Medication[] {
  const out = new Map<string, Medication>();
  const pending: string[] = [];
  for (const req of requests) {
    const ref = parseReference(req.medicationReference?.reference);
    if (ref && (ref.type === undefined || ref.type === 'Medication')) pending.push(ref.id);
  }
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (out.has(id)) continue;
    const med = lookup(id);
    if (!med) continue;
    out.set(id, med);
    for (const ing of med.ingredient ?? []) {
      const ref = parseReference(ing.itemReference?.reference);
      if (ref && (ref.type === undefined || ref.type === 'Medication')) pending.push(ref.id);
    }
  }
  return [...out.values()].sort((a, b) => compareIds(a.id, b.id));
}

/** Bucket + medications → PatientResources (undefined when the bucket has no Patient). */
export function toPatientResources(bucket: PatientBucket, lookupMedication: (id: string) => Medication | undefined): PatientResources | undefined {
  if (!bucket.patient) return undefined;
  return {
    patient: bucket.patient,
    encounters: bucket.encounters,
    conditions: bucket.conditions,
    procedures: bucket.procedures,
    medicationRequests: bucket.medicationRequests,
    medications: medicationsFor(bucket.medicationRequests, lookupMedication),
  };
}

/** Deterministic id order (plain code-unit comparison, so it is the same in every locale). */
export function compareIds(a: string | undefined, b: string | undefined): number {
  return compareStrings(a ?? '', b ?? '');
}

/** 1-based line and column of a character offset in text (for error messages). */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lastNewline = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lastNewline = i;
    }
  }
  return { line, column: offset - lastNewline };
}

/** True for DSTU2/STU3-only resource types (MedicationOrder, ProcedureRequest, …). */
export function isPreR4Type(type: string | undefined): boolean {
  return !!type && type in PRE_R4_TYPES;
}

/**
 * Offset of the first JSON syntax error in text (V8's JSON.parse message on Node 20 often has no
 * position). Only called after JSON.parse failed, so speed does not matter; iterative, so deep
 * nesting cannot overflow the stack.
 */
export function jsonSyntaxErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (): boolean => {
    if (text[i] === '"') {
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 34) {
          i++;
          return true;
        }
        if (c < 32) return false;
        if (c === 92) {
          const e = text[i + 1];
          if (e === 'u') {
            if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
            i += 5;
          } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
          else return false;
        }
      }
      return false;
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) return false;
    i += m[0].length;
    return true;
  };
  const stack: string[] = [];
  // States: expecting a value; after a value (',' or a closer); after '{' or ',' in an object (a key).
  let expect: 'value' | 'after' | 'key' | 'value-or-close' | 'key-or-close' = 'value';
  for (;;) {
    ws();
    if (i >= text.length) return i; // unexpected end (or, if the text was complete, JSON.parse would not have failed)
    const ch = text[i];
    if (expect === 'after') {
      if (stack.length === 0) return i; // trailing content
      const top = stack[stack.length - 1];
      if (ch === ',') {
        i++;
        expect = top === '{' ? 'key' : 'value';
      } else if ((ch === '}' && top === '{') || (ch === ']' && top === '[')) {
        i++;
        stack.pop();
        expect = 'after';
      } else return i;
      continue;
    }
    if (expect === 'key' || expect === 'key-or-close') {
      if (expect === 'key-or-close' && ch === '}') {
        i++;
        stack.pop();
        expect = 'after';
        continue;
      }
      if (ch !== '"' || !literal()) return i;
      ws();
      if (text[i] !== ':') return i;
      i++;
      expect = 'value';
      continue;
    }
    if (expect === 'value-or-close' && ch === ']') {
      i++;
      stack.pop();
      expect = 'after';
      continue;
    }
    if (ch === '{') {
      stack.push('{');
      i++;
      expect = 'key-or-close';
    } else if (ch === '[') {
      stack.push('[');
      i++;
      expect = 'value-or-close';
    } else {
      if (!literal()) return i;
      expect = 'after';
    }
  }
}
