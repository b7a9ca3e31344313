import { DdiIndex } from './ddi-index';
import type { ClassInteraction, RankedClass, Recommendation } from './recommendation.types';

export interface RecommendInput {
  /** Label (ATC3) of each probability, in model output order. */
  labels: readonly string[];
  probs: ArrayLike<number>;
  threshold: number;
  /** ATC3 classes already ordered (not drafts) in the current visit. */
  orderedAtc3: Iterable<string>;
  /** ATC3 classes of this session's draft orders. */
  draftedAtc3: Iterable<string>;
  ddi: DdiIndex;
  className: (atc3: string) => string | undefined;
  priorVisits: number;
}

/**
 * Ranks the student's output for one visit: classes above the threshold, those not yet ordered or
 * drafted (suggestions), drafted classes the model finds unlikely, and interacting pairs among
 * suggested + drafted classes. Pure and deterministic (ties broken by ATC3 code).
 */
export function recommend(input: RecommendInput): Recommendation {
  const { labels, probs, threshold, ddi, className } = input;
  const probOf = new Map<string, number>();
  for (let i = 0; i < labels.length; i++) probOf.set(labels[i], probs[i]);
  const ranked = (atc3: string): RankedClass => {
    const name = className(atc3);
    const probability = probOf.get(atc3);
    return { atc3, ...(name ? { name } : {}), ...(probability !== undefined ? { probability } : {}) };
  };
  const byProbability = (a: RankedClass, b: RankedClass): number =>
    (b.probability ?? -1) - (a.probability ?? -1) || a.atc3.localeCompare(b.atc3);

  const ordered = new Set(input.orderedAtc3);
  const drafted = [...new Set(input.draftedAtc3)].sort();
  const draftedSet = new Set(drafted);

  // The same rule as evaluation and the trainer (p > threshold, compared in float32), so a card never
  // holds a class the reported metrics would not count.
  const cut = Math.fround(threshold);
  const likely: RankedClass[] = [];
  for (let i = 0; i < labels.length; i++) if (probs[i] > cut) likely.push(ranked(labels[i]));
  likely.sort(byProbability);
  const suggested = likely.filter((c) => !ordered.has(c.atc3) && !draftedSet.has(c.atc3));

  const unlikelyDrafted: RankedClass[] = [];
  const unknownDrafted: RankedClass[] = [];
  for (const atc3 of drafted) {
    const p = probOf.get(atc3);
    if (p === undefined) unknownDrafted.push(ranked(atc3));
    else if (p <= cut) unlikelyDrafted.push(ranked(atc3));
  }
  unlikelyDrafted.sort(byProbability);

  const pool: { c: RankedClass; from: 'recommended' | 'drafted' }[] = [
    ...drafted.map((atc3) => ({ c: ranked(atc3), from: 'drafted' as const })),
    ...suggested.map((c) => ({ c, from: 'recommended' as const })),
  ];
  const interactions: ClassInteraction[] = [];
  for (let i = 0; i < pool.length; i++) {
    for (let j = i + 1; j < pool.length; j++) {
      if (ddi.has(pool[i].c.atc3, pool[j].c.atc3)) {
        interactions.push({ a: pool[i].c, b: pool[j].c, aFrom: pool[i].from, bFrom: pool[j].from });
      }
    }
  }
  return { threshold, likely, suggested, unlikelyDrafted, unknownDrafted, interactions, priorVisits: input.priorVisits };
}
