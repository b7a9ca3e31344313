import type { Medication, Resource } from 'fhir/r4';
import { readBundleFile } from './fhir-bundle.reader';
import { addToBucket, CLINICAL_TYPES, compareIds, emptyBucket, patientIdOf, type PatientBucket, toPatientResources } from './fhir-resource.utils';
import type { FhirSource, PatientResources } from './fhir-source.types';

const CLINICAL = new Set<string>(CLINICAL_TYPES);

/**
 * FHIR Bundles (.json / .json.gz; transaction, collection or searchset), one file or a folder of
 * them. patients() reads every file once and holds only the clinical subset (Patient, Encounter,
 * Condition, Procedure, MedicationRequest, Medication) in memory until all files are read, since a
 * patient's resources may span files and the order is by Patient.id. Memory ≈ the size of that
 * subset as parsed JSON (Synthea: about a tenth of each bundle; Observations, Claims and the rest
 * are dropped as each file is parsed).
 */
export class BundleFhirSource implements FhirSource {
  readonly kind = 'bundles' as const;
  /** Clinical resources whose subject is not a Patient in the source (skipped), from the last patients() run. */
  orphanResources = 0;

  constructor(
    readonly location: string,
    private readonly files: readonly string[],
  ) {}

  async *resources(types?: string[]): AsyncIterable<Resource> {
    const wanted = types ? new Set(types) : undefined;
    for (const file of this.files) yield* await readBundleFile(file, wanted);
  }

  async *patients(): AsyncIterable<PatientResources> {
    this.orphanResources = 0;
    const buckets = new Map<string, PatientBucket>();
    const medications = new Map<string, Medication>();
    for (const file of this.files) {
      for (const resource of await readBundleFile(file, CLINICAL)) {
        if (resource.resourceType === 'Medication') {
          if (resource.id) medications.set(resource.id, resource as Medication);
          continue;
        }
        const pid = patientIdOf(resource);
        if (!pid) {
          this.orphanResources++;
          continue;
        }
        let bucket = buckets.get(pid);
        if (!bucket) buckets.set(pid, (bucket = emptyBucket()));
        addToBucket(bucket, resource);
      }
    }
    for (const [pid, bucket] of [...buckets].sort((a, b) => compareIds(a[0], b[0]))) {
      buckets.delete(pid);
      const patient = toPatientResources(bucket, (id) => medications.get(id));
      if (patient) yield patient;
      else this.orphanResources += bucket.encounters.length + bucket.conditions.length + bucket.procedures.length + bucket.medicationRequests.length;
    }
  }
}
