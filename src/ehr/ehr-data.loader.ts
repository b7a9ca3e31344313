import type { Resource as MedplumResource } from '@medplum/fhirtypes';
import { CliError } from '../common/cli-error';
import { openFhirSource } from '../fhir/fhir-source';
import type { EhrRepository } from './ehr-repository';

export interface LoadReport {
  location: string;
  resources: number;
}

/**
 * Loads NDJSON folders and Bundle folders into the store, keeping each resource's id. The readers
 * check every resource is FHIR R4 and rewrite a Bundle's `urn:uuid:` references to `Type/id`; a
 * reference still pointing at a `urn:uuid:` after that names an entry the Bundle does not have.
 */
export async function loadFhirData(repo: EhrRepository, locations: string[], progress: (line: string) => void): Promise<LoadReport[]> {
  const reports: LoadReport[] = [];
  for (const location of locations) {
    if (/^https?:\/\//i.test(location)) throw new CliError(`--fhir ${location}: leader ehr loads folders of NDJSON or Bundles, not a server`);
    const source = await openFhirSource(location);
    let count = 0;
    for await (const resource of source.resources()) {
      const dangling = danglingUuidReference(resource);
      if (dangling) throw new CliError(`${location}: ${resource.resourceType}/${resource.id ?? '(no id)'} refers to ${dangling}, which no entry of its Bundle has`);
      await repo.updateResource((resource.id ? resource : { ...resource, id: repo.generateId() }) as MedplumResource);
      count++;
      if (count % 5000 === 0) progress(`  ${location}: ${count} resources`);
    }
    progress(`loaded ${count} resources from ${location} (${source.kind})`);
    reports.push({ location, resources: count });
  }
  return reports;
}

function danglingUuidReference(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = danglingUuidReference(item);
      if (found) return found;
    }
    return undefined;
  }
  if (node === null || typeof node !== 'object') return undefined;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'reference' && typeof value === 'string' && value.startsWith('urn:uuid:')) return value;
    if (typeof value === 'object') {
      const found = danglingUuidReference(value);
      if (found) return found;
    }
  }
  return undefined;
}
