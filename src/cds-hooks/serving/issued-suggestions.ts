import type { CdsCoding, CdsFeedbackItem, CdsFeedbackSuggestion } from '../cds-hooks.types';
import type { IssuedSuggestion } from '../cards/card.builder';

/** How many cards' suggestions are remembered (oldest forgotten first). */
export const ISSUED_CARDS_KEPT = 10_000;

/**
 * The one-click suggestions this service issued, by card and suggestion uuid, so feedback (which
 * carries only uuids) is stored with the class and product accepted or declined. In memory and
 * bounded: feedback on a card issued before a restart keeps what the client itself sent.
 */
export class IssuedSuggestions {
  private readonly byCard = new Map<string, IssuedSuggestion[]>();
  private readonly bySuggestion = new Map<string, IssuedSuggestion>();

  constructor(private readonly keep = ISSUED_CARDS_KEPT) {}

  /** Cards whose suggestions are remembered (at most `keep`). */
  get cards(): number {
    return this.byCard.size;
  }

  remember(card: string, suggestions: IssuedSuggestion[]): void {
    if (suggestions.length === 0) return;
    this.byCard.set(card, suggestions);
    for (const s of suggestions) this.bySuggestion.set(s.uuid, s);
    while (this.byCard.size > this.keep) {
      const [oldest, gone] = this.byCard.entries().next().value as [string, IssuedSuggestion[]];
      this.byCard.delete(oldest);
      for (const s of gone) this.bySuggestion.delete(s.uuid);
    }
  }

  /**
   * The feedback item with `suggestions` filled in: accepted → the accepted suggestions (class and
   * product, from what we issued or what the client sent); overridden → the card's suggestions.
   */
  describe(item: CdsFeedbackItem): CdsFeedbackItem {
    const out: CdsFeedbackSuggestion[] = [];
    if (item.outcome === 'accepted') {
      for (const a of item.acceptedSuggestions ?? []) {
        const issued = this.bySuggestion.get(a.id);
        const atc3 = issued?.atc3 ?? a.atc3;
        const product: CdsCoding | undefined = issued?.product ?? a.product;
        if (atc3 || product) out.push({ id: a.id, outcome: 'accepted', ...(atc3 ? { atc3 } : {}), ...(product ? { product } : {}) });
      }
    } else {
      for (const s of this.byCard.get(item.card) ?? []) out.push({ id: s.uuid, outcome: 'overridden', atc3: s.atc3, ...(s.product ? { product: s.product } : {}) });
    }
    return out.length > 0 ? { ...item, suggestions: out } : item;
  }
}
