import type { CodeableConcept, Coding, Dosage, Medication, Reference, Resource } from 'fhir/r4';
import { parseReference } from '../fhir/fhir-resource.utils';
import { MIMIC_SYSTEM, SYSTEM } from './code-systems';

/** The codes and name of one product, or of one ingredient of a mix: what the classing reads. */
export interface MedicationConcept {
  codings: Coding[];
  text?: string;
}

/** A medication as the classing needs it: its parts (one, or one per ingredient of a mix) and how it is given. */
export interface MedicationProduct {
  parts: MedicationConcept[];
  /** Route of the request (dosageInstruction.route): codings and text. */
  route?: MedicationConcept;
  /** Dose form of the Medication (Medication.form). */
  form?: MedicationConcept;
  /** Strength written apart from the name (MIMIC prod_strength in dosageInstruction.text). */
  strengthText?: string;
}

/** Which drug a medication use names, resolved once for the timeline, the hooks, the demo and the coverage report. */
export interface ResolvedMedication extends MedicationProduct {
  /** False when `medicationReference` points at nothing this request or bundle holds. */
  resolved: boolean;
  /** The name for people: the concept text, the Medication's name, the parts joined, else the reference display. */
  display?: string;
  /** The concept as it would be sent inline (drafts carry no references): the medication's code, or its parts'. */
  concept?: CodeableConcept;
}

/** A medication use: MedicationRequest, MedicationStatement, MedicationAdministration or MedicationDispense. */
export interface MedicationUse {
  medicationCodeableConcept?: CodeableConcept;
  medicationReference?: Reference;
  contained?: Resource[];
  dosageInstruction?: Dosage[];
  dosage?: Dosage[] | { route?: CodeableConcept; text?: string };
}

/** Identifier systems that carry medication codes (MIMIC writes NDC, GSN, formulary code and drug name as identifiers too). */
const CODE_BEARING_IDENTIFIER_SYSTEMS = new Set<string>([
  SYSTEM.ndc,
  SYSTEM.rxnorm,
  MIMIC_SYSTEM.medicationNdc,
  MIMIC_SYSTEM.medicationGsn,
  MIMIC_SYSTEM.medicationName,
  MIMIC_SYSTEM.medicationFormulary,
]);

/** How deep a mix's ingredient references are followed (a cycle cannot loop). */
const MAX_INGREDIENT_DEPTH = 3;

/**
 * The one answer to "which drug does this medication use name": the inline CodeableConcept, or the
 * referenced Medication (contained `#id`, or by `Type/id`, absolute URL or `urn:uuid:` through
 * `lookup`), with the codes its identifiers carry; a Medication without a code of its own (a MIMIC
 * "mix") gives one part per ingredient. Also reads the request's route and strength text and the
 * Medication's form, which decide among a substance's ATC classes.
 */
export function resolveMedication(use: MedicationUse, lookup: (id: string) => Medication | undefined): ResolvedMedication {
  const dosage = Array.isArray(use.dosageInstruction) ? use.dosageInstruction[0] : Array.isArray(use.dosage) ? use.dosage[0] : use.dosage;
  const context: MedicationProduct = { parts: [] };
  if (dosage?.route) context.route = conceptOf(dosage.route);
  if (typeof dosage?.text === 'string' && dosage.text.trim() !== '') context.strengthText = dosage.text.trim();

  if (use.medicationCodeableConcept) {
    const part = conceptOf(use.medicationCodeableConcept);
    return { ...context, resolved: true, parts: [part], display: part.text, concept: use.medicationCodeableConcept };
  }
  const reference = use.medicationReference;
  const find = (ref: Reference | undefined, contained: readonly Resource[] | undefined): Medication | undefined => {
    const r = ref?.reference?.trim();
    if (!r) return undefined;
    if (r.startsWith('#')) return contained?.find((c): c is Medication => c.resourceType === 'Medication' && c.id === r.slice(1));
    const parsed = parseReference(r);
    return parsed && (parsed.type ?? 'Medication') === 'Medication' ? lookup(parsed.id) : undefined;
  };
  const medication = find(reference, use.contained);
  if (!medication) return { ...context, resolved: false, display: reference?.display };
  if (medication.form) context.form = conceptOf(medication.form);

  const own = ownConcept(medication);
  if (own.codings.length > 0 || own.text) {
    return { ...context, resolved: true, parts: [own], display: own.text ?? reference?.display, concept: medication.code ?? { coding: own.codings, text: own.text } };
  }
  const parts: MedicationConcept[] = [];
  const visit = (med: Medication, depth: number) => {
    for (const ing of med.ingredient ?? []) {
      if (ing.itemCodeableConcept) parts.push(conceptOf(ing.itemCodeableConcept));
      const part = find(ing.itemReference, med.contained ?? use.contained);
      if (!part || part === med) continue;
      const concept = ownConcept(part);
      if (concept.codings.length > 0 || concept.text) parts.push(concept);
      else if (depth < MAX_INGREDIENT_DEPTH) visit(part, depth + 1);
    }
  };
  visit(medication, 0);
  const names = parts.map((p) => p.text).filter((t): t is string => !!t);
  const display = names.length > 0 ? names.join(' / ') : reference?.display;
  const codings = parts.flatMap((p) => p.codings);
  return { ...context, resolved: true, parts, display, ...(codings.length > 0 || display ? { concept: { coding: codings, ...(display ? { text: display } : {}) } } : {}) };
}

/** The concept of a CodeableConcept: codings with a code, and its text or else the first coding display. */
export function conceptOf(cc: CodeableConcept | undefined): MedicationConcept {
  const codings = (cc?.coding ?? []).filter((c) => typeof c?.code === 'string' && c.code.trim() !== '');
  const text = cc?.text ?? codings.find((c) => c.display)?.display;
  return text ? { codings, text } : { codings };
}

/** A Medication's code plus the codes its identifiers carry; the MIMIC drug-name identifier names it when nothing else does. */
function ownConcept(med: Medication): MedicationConcept {
  const concept = conceptOf(med.code);
  const seen = new Set(concept.codings.map((c) => `${c.system}|${c.code}`));
  for (const id of med.identifier ?? []) {
    if (!id.system || !id.value || !CODE_BEARING_IDENTIFIER_SYSTEMS.has(id.system) || seen.has(`${id.system}|${id.value}`)) continue;
    seen.add(`${id.system}|${id.value}`);
    concept.codings.push({ system: id.system, code: id.value });
  }
  if (!concept.text) {
    const name = concept.codings.find((c) => c.system === MIMIC_SYSTEM.medicationName)?.code;
    if (name) concept.text = name;
  }
  return concept;
}

/**
 * Extension that marks what a coding describes when a product travels as one flat list of codings
 * (`TerminologyLookup.medicationAtc3(codings, text)`): `part-N` (N-th ingredient of a mix), `route`, `form`, `strength`.
 */
export const CLASSING_ROLE_EXTENSION = 'http://leader-cds.org/fhir/StructureDefinition/medication-classing-role';

/** A product as one flat list of codings plus text, each coding tagged with its role (see CLASSING_ROLE_EXTENSION). */
export function flattenProduct(product: MedicationProduct): { codings: Coding[]; text?: string } {
  const tag = (c: Coding, role: string): Coding => ({ ...c, extension: [{ url: CLASSING_ROLE_EXTENSION, valueString: role }] });
  const codings: Coding[] = [];
  product.parts.forEach((p, i) => {
    for (const c of p.codings) codings.push(tag(c, `part-${i}`));
    if (p.text) codings.push(tag({ display: p.text }, `part-${i}`));
  });
  for (const [role, concept] of [['route', product.route], ['form', product.form]] as const) {
    if (!concept) continue;
    for (const c of concept.codings) codings.push(tag(c, role));
    if (concept.text) codings.push(tag({ display: concept.text }, role));
  }
  if (product.strengthText) codings.push(tag({ display: product.strengthText }, 'strength'));
  const names = product.parts.map((p) => p.text).filter(Boolean);
  return names.length > 0 ? { codings, text: names.join(' / ') } : { codings };
}

/** The product behind `flattenProduct`'s codings; untagged codings (a plain CodeableConcept) are one part named by `text`. */
export function unflattenProduct(codings: Coding[], text?: string): MedicationProduct {
  const role = (c: Coding) => c.extension?.find((e) => e.url === CLASSING_ROLE_EXTENSION)?.valueString;
  if (!codings.some((c) => role(c) !== undefined)) {
    const named = codings.filter((c) => typeof c?.code === 'string' && c.code.trim() !== '');
    const t = text ?? codings.find((c) => c.display)?.display;
    return { parts: [t ? { codings: named, text: t } : { codings: named }] };
  }
  const parts = new Map<string, MedicationConcept>();
  const product: MedicationProduct = { parts: [] };
  const into = (concept: MedicationConcept, c: Coding) => {
    if (c.code) concept.codings.push({ ...(c.system ? { system: c.system } : {}), code: c.code, ...(c.display ? { display: c.display } : {}) });
    else if (c.display && !concept.text) concept.text = c.display;
  };
  for (const c of codings) {
    const r = role(c) ?? 'part-0';
    if (r === 'strength') product.strengthText = c.display;
    else if (r === 'route') into((product.route ??= { codings: [] }), c);
    else if (r === 'form') into((product.form ??= { codings: [] }), c);
    else {
      let part = parts.get(r);
      if (!part) parts.set(r, (part = { codings: [] }));
      into(part, c);
    }
  }
  product.parts = [...parts.values()];
  return product;
}
