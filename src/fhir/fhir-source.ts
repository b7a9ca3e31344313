import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { CliError } from '../common/cli-error';
import { BundleFhirSource } from './fhir-bundle.source';
import { NdjsonFhirSource } from './fhir-ndjson.source';
import { FhirServerClient } from './fhir-server.client';
import { asCliError, ServerFhirSource } from './fhir-server.source';
import type { FhirSource } from './fhir-source.types';

export interface OpenFhirSourceOptions {
  /** Bearer token for a FHIR server. */
  bearerToken?: string;
  /** Per-request timeout for a FHIR server, ms (default 10 000). */
  timeoutMs?: number;
  /** `_count` for server searches. */
  pageSize?: number;
}

const BUNDLE_FILE = /\.json(\.gz)?$/i;
const NDJSON_FILE = /\.ndjson$/i;

/**
 * Opens FHIR data by location: an http(s) URL is a FHIR R4 server (its CapabilityStatement must
 * say 4.0.x); a folder with *.ndjson files is NDJSON; a folder with *.json / *.json.gz files, or one
 * such file, is Bundles. Anything else is a CliError naming the location.
 */
export async function openFhirSource(location: string, opts: OpenFhirSourceOptions = {}): Promise<FhirSource> {
  if (/^https?:\/\//i.test(location)) {
    const client = new FhirServerClient(location, opts);
    try {
      await client.assertR4();
    } catch (e) {
      throw asCliError(e);
    }
    return new ServerFhirSource(location, client);
  }
  let info;
  try {
    info = await stat(location);
  } catch (e) {
    throw new CliError(`${location}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (info.isFile()) {
    if (BUNDLE_FILE.test(location)) return new BundleFhirSource(location, [location]);
    if (NDJSON_FILE.test(location)) return new NdjsonFhirSource(location, [location]);
    throw new CliError(`${location}: not a FHIR Bundle (.json / .json.gz) or NDJSON (.ndjson) file`);
  }
  const names = (await readdir(location)).sort();
  const ndjson = names.filter((n) => NDJSON_FILE.test(n)).map((n) => path.join(location, n));
  if (ndjson.length > 0) return new NdjsonFhirSource(location, ndjson);
  const bundles = names.filter((n) => BUNDLE_FILE.test(n)).map((n) => path.join(location, n));
  if (bundles.length > 0) return new BundleFhirSource(location, bundles);
  throw new CliError(`${location}: no FHIR data (no *.ndjson, *.json or *.json.gz files)`);
}
