import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError, normaliseSha256 } from '../../inference/student-model';
import type { ModelManifest } from '../../inference/model-manifest.types';
import { defaultNeverSuggest, neverSuggestProblems } from '../../recommend/never-suggest';
import type { TrainingProducts } from '../../recommend/product';
import { sha256Hex } from '../../common/sha256';

/** Files `leader train` adds to a model folder beside the manifest (optional: older folders lack them). */
export const PRODUCTS_FILE = 'products.json';
export const NEVER_SUGGEST_FILE = 'never-suggest.json';

export interface ModelExtras {
  /** undefined when the folder has no products.json: products then come from the patient's history only. */
  trainingProducts?: TrainingProducts;
  neverSuggest: readonly string[];
  /** Where the never-suggest list came from (file or the documented default). */
  neverSuggestSource: string;
}

/** Reads products.json and never-suggest.json of a model folder; a present but bad file is a ModelLoadError. */
export function loadModelExtras(dir: string, manifest: ModelManifest): ModelExtras {
  const products = readOptionalJson(path.join(dir, PRODUCTS_FILE), manifest);
  if (products !== undefined) {
    const classes = (products as { classes?: unknown }).classes;
    if (typeof classes !== 'object' || classes === null || Array.isArray(classes)) {
      throw new ModelLoadError(`${path.join(dir, PRODUCTS_FILE)}: 'classes' must map ATC3 classes to products`);
    }
  }
  const never = readOptionalJson(path.join(dir, NEVER_SUGGEST_FILE), manifest);
  if (never !== undefined) {
    const problems = neverSuggestProblems(never);
    if (problems.length > 0) throw new ModelLoadError(`${path.join(dir, NEVER_SUGGEST_FILE)}: ${problems.join('; ')}`);
  }
  const description = `${manifest.training?.dataset ?? ''} ${manifest.training?.datasetDescription ?? ''}`;
  return {
    ...(products !== undefined ? { trainingProducts: products as TrainingProducts } : {}),
    neverSuggest: never !== undefined ? (never as { prefixes: string[] }).prefixes : defaultNeverSuggest(description),
    neverSuggestSource: never !== undefined ? NEVER_SUGGEST_FILE : 'default for the training data (no never-suggest.json in the model folder)',
  };
}

/** Reads a serving file whose sha256 the manifest must record (servingFilesSha256), like every file the service loads. */
function readOptionalJson(file: string, manifest: ModelManifest): unknown {
  const expected = manifest.servingFilesSha256?.[path.basename(file)];
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ModelLoadError(`${file}: unreadable (${(e as NodeJS.ErrnoException).code})`);
    if (expected) throw new ModelLoadError(`${file}: missing, but manifest.json servingFilesSha256 names it`);
    return undefined;
  }
  const actual = sha256Hex(bytes);
  if (!expected) throw new ModelLoadError(`${file}: not covered by manifest.json servingFilesSha256 (retrain with \`leader train\`, or add its sha256 ${actual.slice(0, 12)}…)`);
  if (actual !== normaliseSha256(expected)) {
    throw new ModelLoadError(`${file}: sha256 ${actual.slice(0, 12)}… does not match manifest servingFilesSha256 ${normaliseSha256(expected).slice(0, 12)}… (changed after training)`);
  }
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}
