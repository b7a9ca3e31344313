import { open } from 'node:fs/promises';
import type { Medication, Resource } from 'fhir/r4';
import { CliError } from '../common/cli-error';
import { expectedTypeOfNdjson, parseNdjsonResource, readNdjsonLines, readRange } from './fhir-ndjson.reader';
import { addToBucket, CLINICAL_TYPES, compareIds, emptyBucket, isPreR4Type, patientIdOf, toPatientResources } from './fhir-resource.utils';
import type { FhirSource, PatientResources } from './fhir-source.types';

const CLINICAL = new Set<string>(CLINICAL_TYPES);

/** Growable columns (patient index, byte offset, byte length) of one file's clinical lines. */
class LineIndex {
  patient = new Int32Array(1024);
  offset = new Float64Array(1024);
  length = new Int32Array(1024);
  line = new Int32Array(1024);
  size = 0;

  push(patient: number, offset: number, length: number, line: number): void {
    if (this.size === this.patient.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.patient = grow(this.patient);
      this.offset = grow(this.offset);
      this.length = grow(this.length);
      this.line = grow(this.line);
    }
    this.patient[this.size] = patient;
    this.offset[this.size] = offset;
    this.length[this.size] = length;
    this.line[this.size] = line;
    this.size++;
  }

  /** Row numbers grouped by patient (counting sort, file order kept within a patient) and each patient's start. */
  groupByPatient(patients: number): { rows: Int32Array; start: Int32Array } {
    const start = new Int32Array(patients + 1);
    for (let i = 0; i < this.size; i++) start[this.patient[i] + 1]++;
    for (let p = 0; p < patients; p++) start[p + 1] += start[p];
    const fill = start.slice(0, patients);
    const rows = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) rows[fill[this.patient[i]]++] = i;
    return { rows, start };
  }
}

/**
 * A folder of NDJSON files, one resource type per file (`Condition.ndjson`, MIMIC's
 * `MimicCondition.ndjson`; a file whose name names no type may mix types). Files of types the
 * timeline does not read (Observation, …) are never opened by patients().
 *
 * patients() makes two passes. The first parses every clinical line once and keeps only
 * (patient, byte offset, length, line) per line: 20 bytes a resource, plus the Medication
 * resources themselves (shared by all patients; MIMIC has a few thousand). The second pass reads
 * each patient's lines back by offset, patient by patient in Patient.id order, so at most one
 * patient's resources are in memory at a time. Example bound: 10 M clinical lines ≈ 200 MB of index.
 */
export class NdjsonFhirSource implements FhirSource {
  readonly kind = 'ndjson' as const;
  /** Clinical lines whose patient has no Patient resource in the folder (skipped), from the last patients() run. */
  orphanResources = 0;

  constructor(
    readonly location: string,
    private readonly files: readonly string[],
  ) {}

  async *resources(types?: string[]): AsyncIterable<Resource> {
    const wanted = types ? new Set(types) : undefined;
    for (const file of this.files) {
      const expected = expectedTypeOfNdjson(file);
      if (wanted && expected && !wanted.has(expected)) continue;
      for await (const item of readNdjsonLines(file)) {
        const resource = parseNdjsonResource(file, item, expected);
        if (!wanted || wanted.has(resource.resourceType)) yield resource;
      }
    }
  }

  async *patients(): AsyncIterable<PatientResources> {
    const files = this.files.filter((f) => {
      const expected = expectedTypeOfNdjson(f);
      return !expected || CLINICAL.has(expected) || isPreR4Type(expected);
    });
    const patientIndex = new Map<string, number>();
    const patientIds: string[] = [];
    const hasPatient: boolean[] = [];
    const medications = new Map<string, Medication>();
    const indexes: LineIndex[] = [];
    const indexOf = (pid: string): number => {
      let i = patientIndex.get(pid);
      if (i === undefined) {
        i = patientIds.length;
        patientIndex.set(pid, i);
        patientIds.push(pid);
        hasPatient.push(false);
      }
      return i;
    };

    for (const file of files) {
      const expected = expectedTypeOfNdjson(file);
      const index = new LineIndex();
      indexes.push(index);
      for await (const item of readNdjsonLines(file)) {
        const resource = parseNdjsonResource(file, item, expected);
        if (resource.resourceType === 'Medication') {
          if (resource.id) medications.set(resource.id, resource as Medication);
          continue;
        }
        if (!CLINICAL.has(resource.resourceType)) continue;
        const pid = patientIdOf(resource);
        if (!pid) continue;
        const p = indexOf(pid);
        if (resource.resourceType === 'Patient') hasPatient[p] = true;
        index.push(p, item.offset, item.length, item.line);
      }
    }
    if (patientIds.length > 0 && !hasPatient.some(Boolean)) {
      throw new CliError(`${this.location}: no Patient resources (expected a Patient.ndjson next to the other files)`);
    }

    const grouped = indexes.map((ix) => ix.groupByPatient(patientIds.length));
    const order = patientIds.map((_, i) => i).sort((a, b) => compareIds(patientIds[a], patientIds[b]));
    this.orphanResources = 0;
    const handles = await Promise.all(files.map((f) => open(f, 'r').catch((e: NodeJS.ErrnoException) => {
      throw new CliError(`${f}: cannot read (${e.code ?? e.message})`);
    })));
    try {
      for (const p of order) {
        const count = grouped.reduce((n, g) => n + g.start[p + 1] - g.start[p], 0);
        if (!hasPatient[p]) {
          this.orphanResources += count;
          continue;
        }
        const bucket = emptyBucket();
        for (let f = 0; f < files.length; f++) {
          const { rows, start } = grouped[f];
          const index = indexes[f];
          for (let k = start[p]; k < start[p + 1]; ) {
            // Coalesce consecutive lines into one read (converters usually write a patient's rows together).
            let end = k + 1;
            while (end < start[p + 1] && rows[end] === rows[end - 1] + 1) end++;
            const first = rows[k];
            const last = rows[end - 1];
            const from = index.offset[first];
            const buf = await readRange(handles[f], from, index.offset[last] + index.length[last] - from);
            for (let j = k; j < end; j++) {
              const r = rows[j];
              const rel = index.offset[r] - from;
              const text = buf.toString('utf8', rel, rel + index.length[r]);
              const resource = parseNdjsonResource(files[f], { line: index.line[r], text }, expectedTypeOfNdjson(files[f]));
              if (patientIdOf(resource) !== patientIds[p]) throw new CliError(`${files[f]}:${index.line[r]}: file changed while it was being read`);
              addToBucket(bucket, resource);
            }
            k = end;
          }
        }
        const patient = toPatientResources(bucket, (id) => medications.get(id));
        if (patient) yield patient;
      }
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  }
}
