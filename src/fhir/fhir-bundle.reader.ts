import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Bundle, Medication, Resource } from 'fhir/r4';
import { CliError } from '../common/cli-error';
import {
  addToBucket,
  CLINICAL_TYPES,
  compareIds,
  emptyBucket,
  fhirR4Problem,
  jsonSyntaxErrorOffset,
  lineColumnAt,
  patientIdOf,
  type PatientBucket,
  toPatientResources,
} from './fhir-resource.utils';
import type { PatientResources } from './fhir-source.types';

const gunzipAsync = promisify(gunzip);

/** Bundle types whose entries are resources to read (responses and histories are not patient data). */
const READABLE_BUNDLE_TYPES = new Set(['transaction', 'collection', 'searchset', 'batch', 'document', 'message']);

/** Reads a file as text (gunzipping `.gz`); a missing or unreadable file is a CliError naming it. */
export async function readTextFile(file: string): Promise<string> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (e) {
    throw new CliError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (file.endsWith('.gz')) {
    try {
      raw = await gunzipAsync(raw);
    } catch (e) {
      throw new CliError(`${file}: not a readable gzip file (${(e as Error).message})`);
    }
  }
  return raw.toString('utf8');
}

/** JSON.parse with the error turned into `file:line:column: not JSON (…)`. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const pos = /position (\d+)/.exec(message);
    const at = lineColumnAt(text, pos ? Number(pos[1]) : jsonSyntaxErrorOffset(text));
    const where = `${at.line}:${at.column}`;
    throw new CliError(`${file}:${where}: not JSON (${message.split('\n')[0]})`);
  }
}

/**
 * Parses one Bundle file and returns its resources (filtered to `types` when given), each checked
 * to be FHIR R4. References that point at another entry's `fullUrl` (`urn:uuid:…` in transaction
 * bundles, absolute URLs in searchsets) are rewritten to `Type/id`, so readers downstream only see
 * relative references. An entry without an id but with a `urn:uuid:` fullUrl gets the uuid as id.
 */
export async function readBundleFile(file: string, types?: ReadonlySet<string>): Promise<Resource[]> {
  const text = await readTextFile(file);
  return bundleResources(parseJsonText(text, file), file, text, types);
}

/** The checked resources of a parsed Bundle (see `readBundleFile`); `text` only locates errors. */
export function bundleResources(value: unknown, file: string, text: string | undefined, types?: ReadonlySet<string>): Resource[] {
  const bundle = value as Bundle;
  if (bundle === null || typeof bundle !== 'object' || Array.isArray(bundle)) throw new CliError(`${file}:1: not a FHIR resource (a JSON object)`);
  if (bundle.resourceType !== 'Bundle') {
    const problem = fhirR4Problem(bundle);
    throw new CliError(`${file}:1: ${problem ?? `resourceType ${String(bundle.resourceType)} where Bundle expected`}`);
  }
  if (!READABLE_BUNDLE_TYPES.has(bundle.type)) throw new CliError(`${file}:1: Bundle.type ${String(bundle.type)} holds no patient data (expected transaction, collection or searchset)`);
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries)) throw new CliError(`${file}:1: Bundle.entry is not a list`);

  const refByFullUrl = new Map<string, string>();
  const kept: Resource[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const resource = entry?.resource as Resource | undefined;
    if (!resource) {
      if (entry?.request?.method === 'DELETE') continue;
      throw new CliError(`${file}:${lineOf(text, undefined, i)}: Bundle.entry[${i}] has no resource`);
    }
    if (entry.search?.mode === 'outcome') continue;
    const problem = fhirR4Problem(resource);
    if (problem) throw new CliError(`${file}:${lineOf(text, resource, i)}: Bundle.entry[${i}]${describe(resource)}: ${problem}`);
    if (!resource.id && entry.fullUrl?.startsWith('urn:uuid:')) resource.id = entry.fullUrl.slice(9);
    if (entry.fullUrl && resource.id) refByFullUrl.set(entry.fullUrl, `${resource.resourceType}/${resource.id}`);
    if (!types || types.has(resource.resourceType)) kept.push(resource);
  }
  if (refByFullUrl.size > 0) for (const resource of kept) rewriteReferences(resource, refByFullUrl);
  return kept;
}

function describe(resource: Resource): string {
  return resource.id ? ` ${resource.resourceType}/${resource.id}` : '';
}

/** Rewrites every `reference` string found in the map (in place). */
function rewriteReferences(node: unknown, map: ReadonlyMap<string, string>): void {
  if (Array.isArray(node)) {
    for (const item of node) if (item !== null && typeof item === 'object') rewriteReferences(item, map);
    return;
  }
  const obj = node as Record<string, unknown>;
  for (const key in obj) {
    const value = obj[key];
    if (key === 'reference' && typeof value === 'string') {
      const target = map.get(value);
      if (target) obj[key] = target;
    } else if (value !== null && typeof value === 'object') {
      rewriteReferences(value, map);
    }
  }
}

/** Best-effort line of an entry in the file text (only computed on the error path). */
function lineOf(text: string | undefined, resource: Resource | undefined, entryIndex: number): string {
  if (text === undefined) return `entry ${entryIndex}`;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const patterns: RegExp[] = [];
  if (resource?.id) patterns.push(new RegExp(`"id"\\s*:\\s*"${escape(resource.id)}"`));
  if (resource?.resourceType) patterns.push(new RegExp(`"resourceType"\\s*:\\s*"${escape(String(resource.resourceType))}"`));
  for (const p of patterns) {
    const m = p.exec(text);
    if (m) return String(lineColumnAt(text, m.index).line);
  }
  return '1';
}

/**
 * Groups a parsed Bundle's clinical resources by patient (Patient.id order). Medications are shared
 * within the bundle. Used for fixtures and for Bundles that arrive whole (prefetch, uploads).
 */
export function patientResourcesFromBundle(value: unknown, file: string): PatientResources[] {
  const resources = bundleResources(value, file, undefined, new Set<string>(CLINICAL_TYPES));
  const medications = new Map<string, Medication>();
  const buckets = new Map<string, PatientBucket>();
  for (const resource of resources) {
    if (resource.resourceType === 'Medication') {
      if (resource.id) medications.set(resource.id, resource as Medication);
      continue;
    }
    const pid = patientIdOf(resource);
    if (!pid) continue;
    let bucket = buckets.get(pid);
    if (!bucket) buckets.set(pid, (bucket = emptyBucket()));
    addToBucket(bucket, resource);
  }
  return [...buckets]
    .sort((a, b) => compareIds(a[0], b[0]))
    .map(([, bucket]) => toPatientResources(bucket, (id) => medications.get(id)))
    .filter((p): p is PatientResources => p !== undefined);
}
