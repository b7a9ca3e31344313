/** Unordered ATC3 interaction pairs with O(1) lookup. */
export class DdiIndex {
  private readonly pairs = new Set<string>();

  constructor(pairs: Iterable<readonly [string, string]>) {
    for (const [a, b] of pairs) if (a !== b) this.pairs.add(DdiIndex.key(a, b));
  }

  /** From a model's ddi.json: label list plus index pairs. */
  static fromIndexPairs(labels: readonly string[], pairs: readonly (readonly [number, number])[]): DdiIndex {
    const named: [string, string][] = [];
    for (const [i, j] of pairs) {
      const a = labels[i];
      const b = labels[j];
      if (a !== undefined && b !== undefined) named.push([a, b]);
    }
    return new DdiIndex(named);
  }

  has(a: string, b: string): boolean {
    return this.pairs.has(DdiIndex.key(a, b));
  }

  get size(): number {
    return this.pairs.size;
  }

  private static key(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }
}
