import { readFileSync } from 'node:fs';
import { CdsHookName, CdsServiceDescriptor, SUPPORTED_HOOKS } from './cds-hooks.types';
import { templateProblems } from './prefetch/prefetch-template';

/**
 * The prefetch keys the handlers read, each with the FHIR type its template must query. The
 * service may fetch any of them itself, so a descriptor may advertise a subset, never another key.
 */
export const PREFETCH_KEYS = {
  patient: 'Patient',
  encounters: 'Encounter',
  conditions: 'Condition',
  procedures: 'Procedure',
  medicationRequests: 'MedicationRequest',
  medicationStatements: 'MedicationStatement',
} as const;
export type PrefetchKey = keyof typeof PREFETCH_KEYS;

/**
 * Keys whose data the service can do without: absent (and no fhirServer), or not fetchable, they
 * count as empty instead of a 412. Many EHRs keep no MedicationStatements.
 */
export const OPTIONAL_PREFETCH_KEYS: ReadonlySet<PrefetchKey> = new Set<PrefetchKey>(['medicationStatements']);

/** Default templates (used when a descriptor leaves a key out, so the service still fetches it). */
export const DEFAULT_PREFETCH: Record<PrefetchKey, string> = {
  patient: 'Patient/{{context.patientId}}',
  encounters: 'Encounter?patient={{context.patientId}}',
  conditions: 'Condition?patient={{context.patientId}}',
  procedures: 'Procedure?patient={{context.patientId}}',
  medicationRequests: 'MedicationRequest?patient={{context.patientId}}',
  medicationStatements: 'MedicationStatement?patient={{context.patientId}}',
};

export class CdsServicesFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CdsServicesFileError';
  }
}

/** cds-hooks.json, parsed and checked against the hooks this service has handlers for. */
export class CdsServicesRegistry {
  private readonly byId: Map<string, CdsServiceDescriptor>;

  constructor(readonly services: CdsServiceDescriptor[]) {
    this.byId = new Map(services.map((s) => [s.id, s]));
  }

  static load(file: string, handledHooks: readonly CdsHookName[] = SUPPORTED_HOOKS): CdsServicesRegistry {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CdsServicesFileError(`${file}: cannot read CDS service descriptors (${(e as Error).message.split('\n')[0]})`);
    }
    const problems = descriptorProblems(parsed, handledHooks);
    if (problems.length > 0) throw new CdsServicesFileError(`${file}: ${problems.join('; ')}`);
    return new CdsServicesRegistry((parsed as { services: CdsServiceDescriptor[] }).services);
  }

  get(id: string): CdsServiceDescriptor | undefined {
    return this.byId.get(id);
  }
}

export function descriptorProblems(parsed: unknown, handledHooks: readonly CdsHookName[]): string[] {
  const problems: string[] = [];
  const services = (parsed as { services?: unknown })?.services;
  if (!Array.isArray(services) || services.length === 0) return ['"services" must be a non-empty array (the Sandbox rejects an empty list)'];
  const seen = new Set<string>();
  services.forEach((s: Record<string, unknown>, i) => {
    const where = `services[${i}]`;
    if (typeof s !== 'object' || s === null) return problems.push(`${where} must be an object`);
    if (typeof s.id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s.id)) problems.push(`${where}.id must be a URL-safe string`);
    else if (seen.has(s.id)) problems.push(`${where}.id "${s.id}" is duplicated`);
    else seen.add(s.id);
    if (typeof s.hook !== 'string' || !handledHooks.includes(s.hook as CdsHookName)) {
      problems.push(`${where}.hook "${String(s.hook)}" has no handler (handled: ${handledHooks.join(', ')})`);
    }
    if (typeof s.description !== 'string' || s.description.trim() === '') problems.push(`${where}.description is required`);
    if (s.title !== undefined && (typeof s.title !== 'string' || s.title === '')) problems.push(`${where}.title must be a non-empty string`);
    if (s.prefetch !== undefined) {
      if (typeof s.prefetch !== 'object' || s.prefetch === null || Array.isArray(s.prefetch)) {
        problems.push(`${where}.prefetch must be an object`);
      } else {
        for (const [key, template] of Object.entries(s.prefetch)) {
          if (!(key in PREFETCH_KEYS)) { problems.push(`${where}.prefetch.${key} is not read by the handler (known: ${Object.keys(PREFETCH_KEYS).join(', ')})`); continue; }
          if (typeof template !== 'string') { problems.push(`${where}.prefetch.${key} must be a string`); continue; }
          const type = PREFETCH_KEYS[key as PrefetchKey];
          if (!template.startsWith(`${type}/`) && !template.startsWith(`${type}?`)) problems.push(`${where}.prefetch.${key} must query ${type}`);
          for (const p of templateProblems(template)) problems.push(`${where}.prefetch.${key}: ${p}`);
        }
      }
    }
  });
  for (const hook of handledHooks) {
    if (!services.some((s: { hook?: unknown }) => s?.hook === hook)) problems.push(`no service is declared for the handled hook ${hook}`);
  }
  return problems;
}
