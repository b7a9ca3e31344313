import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError } from '../../inference/student-model';
import type { ModelManifest } from '../../inference/model-manifest.types';
import { defaultNeverSuggest, neverSuggestProblems } from '../../recommend/never-suggest';
import type { TrainingProducts } from '../../recommend/product';

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
  const products = readOptionalJson(path.join(dir, PRODUCTS_FILE));
  if (products !== undefined) {
    const classes = (products as { classes?: unknown }).classes;
    if (typeof classes !== 'object' || classes === null || Array.isArray(classes)) {
      throw new ModelLoadError(`${path.join(dir, PRODUCTS_FILE)}: 'classes' must map ATC3 classes to products`);
    }
  }
  const never = readOptionalJson(path.join(dir, NEVER_SUGGEST_FILE));
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

function readOptionalJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelLoadError(`${file}: unreadable (${(e as NodeJS.ErrnoException).code})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}
