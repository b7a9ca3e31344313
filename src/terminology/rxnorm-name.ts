/** A strength as written in a drug name: `250 MG`, `0.05 MG/ACTUAT`, `1 %`. */
export interface Strength {
  value: number;
  /** Upper case, e.g. `MG`, `MG/ML`, `UNT/ML`, `%`. */
  unit: string;
}

/** One active ingredient of a product name, with its strength when the name gives one. */
export interface ParsedIngredient {
  /** The ingredient as written (salt and all), e.g. `Oxycodone Hydrochloride`. */
  name: string;
  strength?: Strength;
}

/** What an RxNorm normalised name (SCD/SBD/GPCK style) or a free-text drug name says. */
export interface ParsedProductName {
  ingredients: ParsedIngredient[];
  /** The dose form after the last strength, e.g. `Extended Release Oral Tablet`; undefined when the name has no strength. */
  doseForm?: string;
  /** Bracketed brand name of an SBD, e.g. `Augmentin`. */
  brand?: string;
  /** Hours of a leading release duration (`24 HR`). */
  releaseHours?: number;
}

const UNIT = String.raw`(?:MCG|MG|GM|G|UNT|UNITS?|IU|MEQ|MMOL|ML|%|L|ACTUAT|HR|CELLS|BAU|AU|PNU|SQ-HDM|MU|MILLION UNITS)`;
/** A strength: number, unit, optional `/denominator` (`MG/ML`, `MG/24HR`, `MG/0.5 ML`, `UNT/GM`). */
const STRENGTH = new RegExp(String.raw`(?:^|\s)(\d+(?:[.,]\d+)?)\s*(${UNIT}(?:\s*\/\s*(?:\d+(?:\.\d+)?\s*)?(?:${UNIT}|[A-Z]+))?)(?=\s|$|\))`, 'i');
/** Leading package quantity of a product: `24 HR`, `1 ML`, `120 ACTUAT`, `3 ML`, `28 DAY`. */
const LEADING_QUANTITY = /^\s*(\d+(?:\.\d+)?)\s*(HR|ML|ACTUAT|DAY|G|GM|L|MG|CM2?|EACH)\b\s*/i;

/**
 * Parses an RxNorm normalised name (`24 HR Verapamil hydrochloride 240 MG Extended Release Oral Tablet`,
 * `Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet [Percocet]`) into ingredients,
 * strengths and dose form. A name without strengths (`Metoprolol Tartrate`, `Aspirin EC`) comes back
 * as one ingredient named by the whole text, the caller tries it word by word. Packs (`{...} Pack`)
 * come back as the ingredients of every component.
 */
export function parseProductName(raw: string): ParsedProductName {
  let text = raw.replace(/\s+/g, ' ').trim();
  const out: ParsedProductName = { ingredients: [] };
  const brand = /\[([^\]]+)\]\s*$/.exec(text);
  if (brand) {
    out.brand = brand[1].trim();
    text = text.slice(0, brand.index).trim();
  }
  // Packs: `{21 (A 1 MG / B 0.035 MG Oral Tablet) / 7 (Inert Ingredients 1 MG Oral Tablet) } Pack`.
  const pack = /^\{(.*)\}\s*(?:Pack|Kit)?/i.exec(text);
  if (pack) {
    for (const m of pack[1].matchAll(/\(([^()]+)\)/g)) {
      const part = parseProductName(m[1]);
      if (part.doseForm && !out.doseForm) out.doseForm = part.doseForm;
      for (const ing of part.ingredients) if (!/^inert\b/i.test(ing.name) && !out.ingredients.some((i) => i.name.toLowerCase() === ing.name.toLowerCase())) out.ingredients.push(ing);
    }
    return out;
  }
  // RxNorm qualifiers before the quantity: application numbers and device or release words.
  text = text.replace(/^(?:(?:(?:NDA|ANDA|BLA)\d+|Abuse-Deterrent|Breath-Actuated)\s+)+/i, '');
  const lead = LEADING_QUANTITY.exec(text);
  if (lead && STRENGTH.test(text.slice(lead[0].length))) {
    if (/^hr$/i.test(lead[2])) out.releaseHours = Number(lead[1]);
    text = text.slice(lead[0].length);
  }
  const parts = text.split(/\s+\/\s+/);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i].trim();
    const m = STRENGTH.exec(part);
    if (!m) {
      if (part !== '') out.ingredients.push({ name: part });
      continue;
    }
    const strength = { value: Number(m[1].replace(',', '.')), unit: m[2].replace(/\s+/g, '').toUpperCase() };
    const before = part.slice(0, m.index).trim();
    const rest = part.slice(m.index + m[0].length).trim();
    // Hospital names often lead with the strength: `0.9% Sodium Chloride`, `5% Dextrose`.
    if (before === '') {
      if (rest !== '') out.ingredients.push({ name: rest, strength });
      continue;
    }
    out.ingredients.push({ name: before, strength });
    if (i === parts.length - 1 && rest !== '') out.doseForm = rest;
  }
  return out;
}

/** Milligrams (per unit of the denominator, when there is one) of a strength in MG, MCG, G or %; undefined for units that are not masses. */
export function strengthInMg(s: Strength): { mg: number; per?: string } | undefined {
  const [num, den] = s.unit.split('/');
  const factor: Record<string, number> = { MG: 1, MCG: 0.001, G: 1000, GM: 1000 };
  if (num === '%') return { mg: s.value * 10, per: 'G' }; // 1 % = 10 mg per g (or per mL)
  const f = factor[num];
  if (f === undefined) return undefined;
  if (den === undefined) return { mg: s.value * f };
  const perUnit = den.replace(/^[\d.]+/, '');
  const perAmount = Number(/^[\d.]+/.exec(den)?.[0] ?? '1');
  return { mg: (s.value * f) / perAmount, per: perUnit === 'GM' || perUnit === 'ML' ? 'G' : perUnit };
}
