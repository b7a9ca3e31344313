/**
 * ATC prefixes never suggested by a MIMIC-trained model, when its folder has no never-suggest.json:
 * inpatient housekeeping that MIMIC's prescriptions table records as orders (infusion, irrigating
 * and dialysis solutions, solution additives, "all other therapeutic products" such as sterile
 * water, diagnostic agents, contrast media). They are still predicted and reported, never offered.
 */
export const MIMIC_NEVER_SUGGEST: readonly string[] = ['B05B', 'B05C', 'B05X', 'B05Z', 'V03A', 'V04', 'V07', 'V08'];

/** The default for a model trained on `datasetDescription`: MIMIC's list for MIMIC data, else none. */
export function defaultNeverSuggest(datasetDescription: string): readonly string[] {
  return /mimic/i.test(datasetDescription) ? MIMIC_NEVER_SUGGEST : [];
}

/** Problems of a never-suggest list (each entry an ATC prefix of 1 to 5 characters). */
export function neverSuggestProblems(value: unknown): string[] {
  const prefixes = (value as { prefixes?: unknown })?.prefixes;
  if (!Array.isArray(prefixes)) return ["'prefixes' must be an array of ATC prefixes"];
  return prefixes.flatMap((p, i) => (typeof p === 'string' && /^[A-Z][0-9A-Z]{0,4}$/.test(p) ? [] : [`prefixes[${i}] ${JSON.stringify(p)} is not an ATC prefix (e.g. "B05C")`]));
}
