import type { ProductChoice, ProductCoding } from './recommendation.types';

/** A product the patient received, with its class and date (from the medication history). */
export interface ProductUse {
  atc3: string[];
  coding: ProductCoding;
  /** authoredOn / effective date, when known. */
  date?: string;
}

/** The most prescribed product per class in a model's training data (products.json of the model folder). */
export interface TrainingProducts {
  /** ATC3 → the product and how many training orders of that class named it (of all the class's orders). */
  classes: Record<string, { coding: ProductCoding; orders: number; classOrders: number }>;
}

/** The patient's last product per ATC3 class (latest date wins; undated uses rank before dated ones). */
export function lastProductByClass(uses: Iterable<ProductUse>): Map<string, ProductUse> {
  const last = new Map<string, ProductUse>();
  for (const u of uses) {
    for (const atc3 of u.atc3) {
      const seen = last.get(atc3);
      if (!seen || (u.date ?? '') >= (seen.date ?? '')) last.set(atc3, u);
    }
  }
  return last;
}

/**
 * The product of a one-click suggestion: the drug this patient last received in the class, else
 * the training data's most prescribed product of the class, else none (the class is then offered
 * without a one-click order).
 */
export function chooseProduct(atc3: string, patientLast: ReadonlyMap<string, ProductUse>, training: TrainingProducts | undefined): ProductChoice | undefined {
  const mine = patientLast.get(atc3);
  if (mine) {
    return { coding: mine.coding, rule: 'patient-last', because: `the drug of this class last prescribed to this patient${mine.date ? ` (${mine.date.slice(0, 10)})` : ''}` };
  }
  const common = training?.classes[atc3];
  if (common) {
    const share = common.classOrders > 0 ? Math.round((100 * common.orders) / common.classOrders) : undefined;
    return {
      coding: common.coding, rule: 'training-most-frequent',
      because: `the product most often prescribed for this class in the model's training data${share !== undefined ? ` (${share}% of its orders)` : ''}`,
    };
  }
  return undefined;
}
