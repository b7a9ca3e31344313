import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FhirSource, PatientResources } from '../fhir/fhir-source.types';
import type { TerminologyLookup } from '../terminology/terminology.types';
import type { PatientTimeline } from '../timeline/timeline.types';
import { CliError } from '../common/cli-error';
import { writeDirAtomic } from '../common/atomic-write';
import { DatasetAssembler, type BuiltDataset, type DatasetBuildOptions } from './dataset.builder';
import { DATASET_SCHEMA_VERSION, type DatasetManifest } from './dataset.schema';
import { SPLIT_NAMES } from './splits';

/** The part of cli/progress's ProgressReporter the writer uses (training/ sits above cli/). */
export interface DatasetProgress {
  bar(label: string, total: number, unit?: string): { increment(by?: number): void; setTotal(total: number): void; stop(): void };
}

/** What `writeDataset` needs from the data path (the CLI passes the real modules; specs may pass others). */
export interface DatasetWriterDeps {
  openSource(location: string): Promise<FhirSource>;
  terminology: TerminologyLookup;
  buildTimeline(resources: PatientResources, terminology: TerminologyLookup): PatientTimeline;
  progress: DatasetProgress;
  /** Clock for manifest.createdAt. */
  now?: () => Date;
  ddiSource?: string;
}

export interface DatasetWriteResult {
  out: string;
  manifest: DatasetManifest;
}

/** Licence / attribution a source folder declares in provenance.json (the MIMIC converter writes one). */
export interface SourceProvenance {
  licence?: string;
  attribution?: string;
  description?: string;
}

/**
 * `leader dataset`: read every patient of `source`, build LEADER samples (dataset.builder.ts) and
 * write the versioned folder (dataset.schema.ts) to `out`, atomically: a failure leaves no folder
 * (and any previous one untouched).
 */
export async function writeDataset(source: string, out: string, options: DatasetBuildOptions, deps: DatasetWriterDeps): Promise<DatasetWriteResult> {
  const assembler = new DatasetAssembler(options);
  const fhir = await deps.openSource(source);
  const provenance = fhir.kind === 'fhir-server' ? {} : await readProvenance(fhir.location);

  const reading = deps.progress.bar('read patients', 0, 'patients');
  let candidates = 0;
  for await (const resources of fhir.patients()) {
    const timeline = deps.buildTimeline(resources, deps.terminology);
    try {
      candidates += assembler.add(timeline);
    } catch (e) {
      throw new CliError(`${source}: ${(e as Error).message}`);
    }
    reading.setTotal(assembler.patientCount);
    reading.increment();
  }
  reading.stop();
  if (assembler.patientCount === 0) throw new CliError(`dataset: ${source} holds no Patient resources`);

  const building = deps.progress.bar('build samples', candidates, 'samples');
  const built = assembler.build(deps.terminology, () => building.increment(), deps.ddiSource);
  building.stop();
  if (built.samples.length === 0) {
    throw new CliError(`dataset: no sample could be built from ${assembler.patientCount} patients of ${source} (skipped: ${describeCounts(built.counts.skipped)})`);
  }

  const manifest: DatasetManifest = {
    schemaVersion: DATASET_SCHEMA_VERSION,
    createdAt: (deps.now ?? (() => new Date()))().toISOString(),
    source: { location: source, kind: fhir.kind, ...(provenance.description ? { description: provenance.description } : {}) },
    provenance: {
      ...(provenance.licence ? { licence: provenance.licence } : {}),
      ...(provenance.attribution ? { attribution: provenance.attribution } : {}),
    },
    options: {
      perVisit: options.perVisit,
      seed: options.seed,
      topMeds: options.topMeds,
      promptMode: options.promptMode,
      maxVisits: options.maxVisits,
      minVisits: options.minVisits,
      split: options.split,
    },
    counts: built.counts,
    vocabHash: built.vocab.hash(),
  };
  const writing = deps.progress.bar('write dataset', built.samples.length, 'samples');
  await writeDirAtomic(out, (dir) => writeDatasetFiles(dir, built, manifest, () => writing.increment()));
  writing.stop();
  return { out, manifest };
}

/** The on-disk layout: manifest.json, vocab.json, ddi.json, samples.jsonl, splits/{train,val,test}.txt. */
export async function writeDatasetFiles(dir: string, built: BuiltDataset, manifest: DatasetManifest, onSample: () => void = () => {}): Promise<void> {
  await fs.mkdir(path.join(dir, 'splits'), { recursive: true });
  await fs.writeFile(path.join(dir, 'vocab.json'), built.vocab.serialize());
  await fs.writeFile(path.join(dir, 'ddi.json'), formatDdi(built.ddi));
  const handle = await fs.open(path.join(dir, 'samples.jsonl'), 'w');
  try {
    let chunk = '';
    for (const sample of built.samples) {
      chunk += `${JSON.stringify(sample)}\n`;
      onSample();
      if (chunk.length > 1 << 20) {
        await handle.write(chunk);
        chunk = '';
      }
    }
    await handle.write(chunk);
  } finally {
    await handle.close();
  }
  for (const name of SPLIT_NAMES) {
    const ids = built.splits[name];
    await fs.writeFile(path.join(dir, 'splits', `${name}.txt`), ids.length ? `${ids.join('\n')}\n` : '');
  }
  // The manifest last: a folder with a manifest is complete.
  await fs.writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** ddi.json with one pair per line (readable diffs, still plain JSON). */
export function formatDdi(ddi: BuiltDataset['ddi']): string {
  const pairs = ddi.pairs.map((p) => `    [${p[0]}, ${p[1]}]`).join(',\n');
  return `{\n  "labels": ${JSON.stringify(ddi.labels)},\n  "pairs": [${pairs ? `\n${pairs}\n  ` : ''}],\n  "source": ${JSON.stringify(ddi.source)}\n}\n`;
}

/** provenance.json of a source folder (or of the folder holding a source file); absent → {}. */
export async function readProvenance(location: string): Promise<SourceProvenance> {
  let dir = location;
  try {
    if (!(await fs.stat(location)).isDirectory()) dir = path.dirname(location);
  } catch {
    return {};
  }
  const file = path.join(dir, 'provenance.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CliError(`${file}: expected a JSON object`);
  // Written by `leader mimic-to-fhir`: license is { id, name } (or a string), source is { title, … }.
  const record = json as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  const field = (v: unknown, key: string) => (typeof v === 'object' && v !== null ? str((v as Record<string, unknown>)[key]) : undefined);
  const licenceValue = record.licence ?? record.license;
  const licenceId = str(licenceValue) ?? field(licenceValue, 'id');
  const licenceName = field(licenceValue, 'name');
  const licence = licenceId && licenceName ? `${licenceId} (${licenceName})` : (licenceId ?? licenceName);
  const attribution = str(record.attribution);
  const description = str(record.description) ?? field(record.source, 'title') ?? str(record.source);
  const result: SourceProvenance = {};
  if (licence) result.licence = licence;
  if (attribution) result.attribution = attribution;
  if (description) result.description = description;
  return result;
}

export function describeCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(', ') : 'none';
}
