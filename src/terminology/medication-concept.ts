import type { CodeableConcept, Coding, Medication, Reference } from 'fhir/r4';
import { MIMIC_SYSTEM, SYSTEM } from './code-systems';

/** What `medicationAtc3` needs about one medication: its codings and a name to fall back on. */
export interface MedicationConcept {
  codings: Coding[];
  text?: string;
}

/** Identifier systems that carry medication codes (MIMIC writes NDC, formulary code and drug name as identifiers too). */
const CODE_BEARING_IDENTIFIER_SYSTEMS = new Set<string>([
  SYSTEM.ndc,
  SYSTEM.rxnorm,
  MIMIC_SYSTEM.medicationNdc,
  MIMIC_SYSTEM.medicationGsn,
  MIMIC_SYSTEM.medicationName,
  MIMIC_SYSTEM.medicationFormulary,
]);

/** The concept of a CodeableConcept (codings + text, or the first coding display as text). */
export function conceptOf(cc: CodeableConcept | undefined): MedicationConcept {
  const codings = (cc?.coding ?? []).filter((c) => c.code);
  return { codings, text: cc?.text ?? codings.find((c) => c.display)?.display };
}

/**
 * The concepts of a Medication: its code plus code-bearing identifiers; for a MIMIC "medication
 * mix" (no code, `ingredient[]`), one concept per ingredient, resolving `itemReference` through
 * `resolve` (ingredients are not followed further, so a cycle cannot loop).
 */
export function medicationConcepts(med: Medication, resolve: (ref: Reference) => Medication | undefined): MedicationConcept[] {
  const own = ownConcept(med);
  if (own.codings.length > 0 || own.text) return [own];
  const out: MedicationConcept[] = [];
  for (const ing of med.ingredient ?? []) {
    if (ing.itemCodeableConcept) out.push(conceptOf(ing.itemCodeableConcept));
    else if (ing.itemReference) {
      const part = resolve(ing.itemReference);
      if (part) out.push(ownConcept(part));
    }
  }
  return out;
}

function ownConcept(med: Medication): MedicationConcept {
  const concept = conceptOf(med.code);
  const seen = new Set(concept.codings.map((c) => `${c.system}|${c.code}`));
  for (const id of med.identifier ?? []) {
    if (!id.system || !id.value || !CODE_BEARING_IDENTIFIER_SYSTEMS.has(id.system) || seen.has(`${id.system}|${id.value}`)) continue;
    seen.add(`${id.system}|${id.value}`);
    concept.codings.push({ system: id.system, code: id.value });
  }
  return concept;
}

/** The id a reference points at: `Medication/abc`, `urn:uuid:abc`, `#abc` (contained) and absolute URLs all give `abc`. */
export function referencedId(ref: Reference | undefined): string | undefined {
  const r = ref?.reference?.trim();
  if (!r) return undefined;
  if (r.startsWith('#')) return r.slice(1);
  if (r.startsWith('urn:uuid:')) return r.slice('urn:uuid:'.length);
  const parts = r.split('/').filter((p) => p !== '');
  const history = parts.indexOf('_history');
  return history > 0 ? parts[history - 1] : parts[parts.length - 1];
}
