/**
 * Files `leader train` adds to a model folder for serving, beside what the trainer exports:
 * products.json (the product most prescribed per ATC3 class in the training split, for one-click
 * suggestions) and never-suggest.json (ATC prefixes the cards never offer; the documented default
 * for the training data, editable afterwards).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FhirSource, PatientResources } from '../fhir/fhir-source.types';
import type { TerminologyLookup } from '../terminology/terminology.types';
import { medicationHistory } from '../cds-hooks/serving/medication-history';
import { NEVER_SUGGEST_FILE, PRODUCTS_FILE } from '../cds-hooks/serving/model-extras';
import { defaultNeverSuggest } from '../recommend/never-suggest';
import type { TrainingProducts } from '../recommend/product';
import type { ProductCoding } from '../recommend/recommendation.types';
import type { DatasetManifest } from './dataset.schema';
import type { ModelManifest } from '../inference/model-manifest.types';
import { sha256File } from '../common/sha256';

export interface ServingFilesDeps {
  openSource(location: string): Promise<FhirSource>;
  terminology: TerminologyLookup;
  /** One line of progress or warning. */
  info(line: string): void;
}

/** Counts products per class over the patients of the train split (MedicationRequests that were not drafts or voided). */
export function countProducts(patients: Iterable<PatientResources>, terminology: TerminologyLookup): TrainingProducts {
  const byClass = new Map<string, Map<string, { coding: ProductCoding; orders: number }>>();
  const classOrders = new Map<string, number>();
  for (const p of patients) {
    for (const use of medicationHistory(p, [], terminology).products) {
      for (const atc3 of use.atc3) {
        classOrders.set(atc3, (classOrders.get(atc3) ?? 0) + 1);
        const key = `${use.coding.system}|${use.coding.code}`;
        const products = byClass.get(atc3) ?? new Map();
        const seen = products.get(key) ?? { coding: use.coding, orders: 0 };
        seen.orders++;
        products.set(key, seen);
        byClass.set(atc3, products);
      }
    }
  }
  const classes: TrainingProducts['classes'] = {};
  for (const atc3 of [...byClass.keys()].sort()) {
    // Most orders first; ties to the smallest code, so reruns write the same file.
    const [best] = [...byClass.get(atc3)!.values()].sort((a, b) => b.orders - a.orders || a.coding.code.localeCompare(b.coding.code));
    classes[atc3] = { coding: best.coding, orders: best.orders, classOrders: classOrders.get(atc3)! };
  }
  return { classes };
}

/**
 * Writes products.json and never-suggest.json into `modelDir` for a model trained on `datasetDir`.
 * When the dataset's FHIR source cannot be read any more, products.json is left out (the service
 * then takes products from the patient's history only) and the reason is reported.
 */
export async function writeServingFiles(datasetDir: string, modelDir: string, deps: ServingFilesDeps): Promise<string[]> {
  const manifest = JSON.parse(await fs.readFile(path.join(datasetDir, 'manifest.json'), 'utf8')) as DatasetManifest;
  const written: string[] = [];
  const description = `${manifest.source.location} ${manifest.source.description ?? ''}`;
  const prefixes = defaultNeverSuggest(description);
  await fs.writeFile(path.join(modelDir, NEVER_SUGGEST_FILE), `${JSON.stringify({
    prefixes,
    note: prefixes.length > 0
      ? 'Default for MIMIC-trained models: inpatient housekeeping classes (infusion, irrigating and dialysis solutions, additives, sterile water and other non-therapeutic products, diagnostic agents, contrast media). Edit to change what the cards never offer.'
      : 'No class is left out by default for this training data. Add ATC prefixes (e.g. "B05C") to never offer them.',
    integrity: 'After editing, put this file\'s new sha256 in manifest.json servingFilesSha256: the service refuses a serving file whose hash differs.',
  }, null, 2)}\n`);
  written.push(NEVER_SUGGEST_FILE);

  const trainIds = new Set((await fs.readFile(path.join(datasetDir, 'splits', 'train.txt'), 'utf8')).split('\n').filter(Boolean).map((id) => id.split('#')[0]));
  let source: FhirSource;
  try {
    source = await deps.openSource(manifest.source.location);
  } catch (e) {
    deps.info(`products: the dataset's source ${manifest.source.location} cannot be read (${(e as Error).message.split('\n')[0]}); no ${PRODUCTS_FILE} written, the service will take products from each patient's history only`);
    return written;
  }
  const patients: PatientResources[] = [];
  for await (const p of source.patients()) if (p.patient.id && trainIds.has(p.patient.id)) patients.push(p);
  const products = countProducts(patients, deps.terminology);
  await fs.writeFile(path.join(modelDir, PRODUCTS_FILE), `${JSON.stringify({
    source: manifest.source.location, split: 'train', patients: patients.length, ...products,
  }, null, 1)}\n`);
  deps.info(`products: most prescribed product of ${Object.keys(products.classes).length} classes over ${patients.length} training patients`);
  written.push(PRODUCTS_FILE);
  return written;
}

/**
 * Records the sha256 of each serving file in the model's manifest.json, so the service refuses a
 * folder whose products or never-suggest list were changed after training (as it does for ddi.json).
 */
export async function hashServingFiles(modelDir: string, files: string[]): Promise<void> {
  const manifestFile = path.join(modelDir, 'manifest.json');
  const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as ModelManifest;
  const hashes: Record<string, string> = {};
  for (const f of [...files].sort()) hashes[f] = await sha256File(path.join(modelDir, f));
  manifest.servingFilesSha256 = hashes;
  await fs.writeFile(manifestFile, `${JSON.stringify(manifest, null, 1)}\n`);
}
