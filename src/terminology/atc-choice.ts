import type { Coding } from 'fhir/r4';
import { normaliseDrugName, drugNameCandidates } from './code-normalise';
import { parseProductName, strengthInMg, type Strength } from './rxnorm-name';

/** How a medication is given, as the rules group it (see `routes` in fhir-mappings/atc-route-rules.json). */
export type Route = string;

/** fhir-mappings/atc-route-rules.json. */
export interface AtcRouteRules {
  resourceType: 'AtcRouteRules';
  title: string;
  description: string;
  routes: Record<Route, string>;
  systemicRoutes: Route[];
  classRoutes: Array<{ atc: string; routes: Route[]; why: string }>;
  substances: Array<{ ingredient: string; routes?: Route[]; maxStrength?: Strength; minStrength?: Strength; atc: string; why: string }>;
  primary: Array<{ ingredient: string; routes?: Route[]; atc: string; why: string }>;
  synonyms: Array<[string, string]>;
  combinationWords: Array<{ word: string; ingredients?: string[]; atc?: string[] }>;
  /** WHO substance names grouped as WHO's i.v. and oral solution classes read them (electrolytes, carbohydrates). */
  solutionGroups: Record<string, string[]>;
  /** Classes of a mixture whose every ingredient is in one of `groups` and every group present (WHO B05BB01, B05BB02, A07CA); first match wins. */
  solutions: Array<{ groups: string[]; routes: Route[]; atc: string; why: string }>;
  routeCodes: Array<{ system: string; codes: Record<string, Route> }>;
  routeWords: Array<[string, Route]>;
}

/** Which rule decided a class (for the coverage report, the lookup CLI and debugging). */
export type ClassRule =
  | 'atc-coding' | 'code-map' | 'code-map-corrected' | 'substance' | 'route' | 'primary' | 'atc-order'
  | 'only-class' | 'combination' | 'name-map';

/** One class of a medication and why it was chosen. */
export interface ChosenClass {
  atc3: string;
  /** The ATC code the class came from (level 5 where the WHO index gave one). */
  atc: string;
  rule: ClassRule;
  /** The rule in words, e.g. `route oral: M01AE02 of G02CC02, M01AE02, M02AA12`. */
  why: string;
  /** The ingredient (WHO name) the class belongs to, for name-based choices. */
  ingredient?: string;
}

/** What is known about how a product is given, besides its name. */
export interface ProductContext {
  route?: Route;
  /** A strength stated apart from the name (MIMIC prod_strength), used when the name has none. */
  strengthText?: string;
}

interface Combination {
  code: string;
  names: string[];
  words: Array<AtcRouteRules['combinationWords'][number]>;
}

/**
 * Chooses ATC classes for a substance or product from the WHO ATC index and the route rules: the
 * data says which routes each ATC group is for, the code only scores candidates against it.
 */
export class AtcChooser {
  /** Normalised WHO level-5 name → its ATC codes, in code order. */
  private readonly byName = new Map<string, string[]>();
  /** Sorted ingredient keys of WHO combination names → codes. */
  private readonly combinations = new Map<string, string[]>();
  private readonly combinationsWithWords: Combination[] = [];
  private readonly synonyms = new Map<string, string>();
  /** Substances WHO names only inside combinations (clavulanic acid in "amoxicillin and beta-lactamase inhibitor"). */
  private readonly comboIngredients: Set<string>;
  private readonly classRoutes: Array<{ atc: string; routes: Route[]; why: string }>;
  private readonly routeCodes = new Map<string, Route>();
  private readonly routeWords: Array<[RegExp, Route]>;
  /** `solutionGroups` with normalised names. */
  private readonly solutionGroups = new Map<string, Set<string>>();
  private readonly memo = new Map<string, readonly ChosenClass[]>();

  constructor(private readonly rules: AtcRouteRules, atcConcepts: Iterable<{ code: string; names: string[] }>, private readonly fallbackName: (name: string) => string[]) {
    this.comboIngredients = new Set(rules.combinationWords.flatMap((w) => (w.ingredients ?? []).map(normaliseDrugName)));
    for (const [from, to] of rules.synonyms) this.synonyms.set(normaliseDrugName(from), normaliseDrugName(to));
    const comboNames: Array<{ code: string; name: string }> = [];
    for (const { code, names } of atcConcepts) {
      if (code.length !== 7) continue;
      for (const name of names) {
        const key = normaliseDrugName(name);
        if (/ and |, /.test(name) && !/combination/.test(name)) comboNames.push({ code, name });
        else if (!/combination/.test(name)) push(this.byName, key, code);
      }
    }
    const words = new Map(rules.combinationWords.map((w) => [normaliseDrugName(w.word), w]));
    for (const { code, name } of comboNames) {
      const parts = name.split(/, | and /).map((p) => normaliseDrugName(p)).filter((p) => p !== '');
      const fixed: string[] = [];
      const classWords: Combination['words'] = [];
      let ok = true;
      for (const p of parts) {
        if (this.byName.has(p)) fixed.push(p);
        else if (words.has(p)) classWords.push(words.get(p) as Combination['words'][number]);
        else ok = false;
      }
      if (!ok) continue;
      if (classWords.length === 0) push(this.combinations, [...fixed].sort().join(' + '), code);
      else this.combinationsWithWords.push({ code, names: fixed, words: classWords });
    }
    for (const list of this.byName.values()) list.sort();
    // Longest prefix first, so the most specific group rule wins.
    this.classRoutes = [...rules.classRoutes].sort((a, b) => b.atc.length - a.atc.length);
    for (const table of rules.routeCodes) for (const [code, route] of Object.entries(table.codes)) this.routeCodes.set(`${table.system}|${code.toUpperCase()}`, route);
    for (const [group, names] of Object.entries(rules.solutionGroups)) this.solutionGroups.set(group, new Set(names.map(normaliseDrugName)));
    this.routeWords = rules.routeWords.map(([word, route]) => [new RegExp(`(?:^|[^a-z])${word.replace(/ /g, '[ -]')}(?:$|[^a-z])`, 'i'), route]);
  }

  /** The ATC codes of a WHO substance name (normalised), if the index has it. */
  codesOf(ingredient: string): readonly string[] | undefined {
    return this.byName.get(ingredient);
  }

  /** The route a coding (FHIR/SNOMED/v3/MIMIC route) names. */
  routeOfCoding(c: Coding): Route | undefined {
    return c.system && c.code ? this.routeCodes.get(`${c.system}|${c.code.trim().toUpperCase()}`) : undefined;
  }

  /** The route words in a text say (`Extended Release Oral Tablet` → oral, `BOTH EYES` → ophthalmic). */
  routeOfText(text: string | undefined): Route | undefined {
    if (!text) return undefined;
    for (const [re, route] of this.routeWords) if (re.test(text)) return route;
    return undefined;
  }

  /** The group rule for an ATC code (longest matching prefix), or undefined for a class given by any systemic route. */
  classRoute(atc: string): { atc: string; routes: Route[]; why: string } | undefined {
    return this.classRoutes.find((r) => atc.startsWith(r.atc));
  }

  /** Group rules narrower than an ATC3 class (e.g. G02CC under G02C). */
  rulesUnder(atc3: string): ReadonlyArray<{ atc: string; routes: Route[]; why: string }> {
    return this.classRoutes.filter((r) => r.atc.length > atc3.length && r.atc.startsWith(atc3));
  }

  /** Whether a class fits a route: 2 the class is meant for it, 1 a systemic class and a systemic route, 0 it does not fit (route unknown: see below). */
  fit(atc: string, route: Route | undefined): 0 | 1 | 2 {
    const rule = this.classRoute(atc);
    // No route given: a class for any systemic route first, then one for oral or parenteral use only.
    if (route === undefined) return !rule ? 2 : rule.routes.includes('oral') || rule.routes.includes('parenteral') ? 1 : 0;
    if (rule) return rule.routes.includes(route) ? 2 : 0;
    return this.rules.systemicRoutes.includes(route) ? 1 : 0;
  }

  /** The WHO name an ingredient as written stands for: whole name, synonyms, salts dropped, then leading words. */
  canonical(name: string): string | undefined {
    const norm = normaliseDrugName(name.replace(/\([^)]*\)/g, ' '));
    const tries: string[] = [];
    const add = (k: string) => {
      if (k === '') return;
      // The synonym first: the index also lists some US spellings with fewer codes (acyclovir vs aciclovir).
      const syn = this.synonyms.get(k);
      if (syn) tries.push(syn);
      tries.push(k);
    };
    add(normaliseDrugName(name));
    add(norm);
    let words = norm.split(' ');
    while (words.length > 1 && SALT_WORDS.has(words[words.length - 1])) {
      words = words.slice(0, -1);
      add(words.join(' '));
    }
    for (const k of drugNameCandidates(norm)) add(k);
    return tries.find((k) => this.byName.has(k) || this.comboIngredients.has(k));
  }

  /**
   * Classes of a product named in words (an RxNorm normalised name, a MIMIC drug name, free text):
   * the WHO combination class when the index has the exact combination, else one class per
   * ingredient; ingredients the WHO index lacks fall back to the drug-name map. Empty when nothing is known.
   */
  classifyName(name: string, ctx: ProductContext = {}): readonly ChosenClass[] {
    // Hospitals order the same few hundred products over and over: remember results (frozen) by input.
    const key = `${ctx.route ?? ''}\u0000${ctx.strengthText ?? ''}\u0000${name}`;
    const hit = this.memo.get(key);
    if (hit) return hit;
    if (this.memo.size >= MEMO_ENTRIES) this.memo.clear();
    const result = Object.freeze(this.classifyNameUncached(name, ctx).map((c) => Object.freeze(c)));
    this.memo.set(key, result);
    return result;
  }

  private classifyNameUncached(name: string, ctx: ProductContext): ChosenClass[] {
    const parsed = parseProductName(name);
    const route = ctx.route ?? this.routeOfText(parsed.doseForm);
    const given = parseStrength(ctx.strengthText);
    const ingredients = parsed.ingredients.map((ing) => ({ written: ing.name, key: this.canonical(ing.name), strength: ing.strength ?? (parsed.ingredients.length === 1 ? given : undefined) }));
    if (ingredients.length === 0) return [];
    if (ingredients.length > 1 && ingredients.every((i) => i.key)) {
      const combo = this.combinationOf(ingredients.map((i) => i.key as string), route);
      if (combo) return [combo];
    }
    // A fluid with additives ("Potassium Chl 20 mEq / 1000 mL D5 1/2 NS", "KCl 20 mEq in D5 1/2NS", "Amino Acids 4.25% W/ Dextrose 5%"):
    // the vehicle named after "in" or "w/" counts only for the solution classes (heparin in D5W stays heparin).
    const vehicle = /^(?:in\s+|w\/\s*)(.+)$/i.exec(parsed.doseForm ?? '')?.[1];
    const vehicleKey = vehicle ? this.canonical(vehicle) : undefined;
    const keys = [...ingredients.map((i) => i.key), ...(vehicleKey ? [vehicleKey] : [])];
    if (keys.length > 1 && keys.every((k) => k)) {
      const solution = this.solutionOf(keys as string[], route);
      if (solution) return [solution];
    }
    const out: ChosenClass[] = [];
    const fromMap = (written: string) => this.fallbackName(written).map((a): ChosenClass => ({ atc3: a, atc: a, rule: 'name-map', why: `drug-name map: "${written}" → ${a}` }));
    for (const ing of ingredients) {
      const chosen = ing.key ? this.chooseForSubstance(ing.key, ing.strength, route) : undefined;
      if (chosen) {
        out.push(chosen);
        continue;
      }
      // A substance the WHO index does not name: the drug-name map knows whole MIMIC names ("Sodium Chloride 0.9%  Flush") best.
      const whole = ingredients.length === 1 ? fromMap(name) : [];
      out.push(...(whole.length > 0 ? whole : fromMap(ing.written)));
    }
    return dedupe(out);
  }

  /** The class of one WHO substance given its strength and route (substance rules, then route fit, primary, ATC order). */
  chooseForSubstance(ingredient: string, strength: Strength | undefined, route: Route | undefined): ChosenClass | undefined {
    const candidates = this.byName.get(ingredient) ?? [];
    const chosen = (atc: string, rule: ClassRule, why: string): ChosenClass => ({ atc3: atc.slice(0, 4), atc, rule, why, ingredient });
    for (const s of this.rules.substances) {
      if (s.ingredient !== ingredient) continue;
      if (s.routes && !routeMatches(s.routes, route)) continue;
      if (s.maxStrength && !(strength && compareStrength(strength, s.maxStrength) !== undefined && (compareStrength(strength, s.maxStrength) as number) <= 0)) continue;
      if (s.minStrength && !(strength && compareStrength(strength, s.minStrength) !== undefined && (compareStrength(strength, s.minStrength) as number) >= 0)) continue;
      return chosen(s.atc, 'substance', `${s.why} (${s.atc})`);
    }
    if (candidates.length === 0) return undefined;
    if (candidates.length === 1) return chosen(candidates[0], 'only-class', `only class of ${ingredient} in the WHO index: ${candidates[0]}`);
    const scored = candidates.map((atc) => ({ atc, fit: this.fit(atc, route) }));
    const best = Math.max(...scored.map((s) => s.fit));
    const tied = best === 0 ? candidates : scored.filter((s) => s.fit === best).map((s) => s.atc);
    const routeWords = `route ${route ?? 'not given (systemic assumed)'}`;
    const of = `${tied.join(', ')} of ${candidates.join(', ')}`;
    if (new Set(tied.map((a) => a.slice(0, 4))).size === 1) {
      return chosen(tied[0], best === 0 ? 'atc-order' : 'route', best === 0 ? `${routeWords}: no class fits, first of ${candidates.join(', ')}` : `${routeWords}: ${of}`);
    }
    const primary = this.rules.primary.find((p) => p.ingredient === ingredient && tied.includes(p.atc) && (!p.routes || routeMatches(p.routes, route)));
    if (primary) return chosen(primary.atc, 'primary', `${routeWords}: ${of}; primary ${primary.atc} (${primary.why})`);
    return chosen(tied[0], 'atc-order', `${routeWords}: ${of}; first in ATC order`);
  }

  /** The WHO solution class of a mixture of electrolytes and/or carbohydrates given by `route`, if the rules have one. */
  private solutionOf(keys: string[], route: Route | undefined): ChosenClass | undefined {
    const unique = [...new Set(keys)].sort();
    for (const s of this.rules.solutions) {
      if (!routeMatches(s.routes, route)) continue;
      const groups = s.groups.map((g) => this.solutionGroups.get(g) ?? new Set<string>());
      if (!unique.every((k) => groups.some((g) => g.has(k))) || !groups.every((g) => unique.some((k) => g.has(k)))) continue;
      return { atc3: s.atc.slice(0, 4), atc: s.atc, rule: 'combination', why: `${s.why} (${s.atc}): ${unique.join(' + ')}`, ingredient: unique.join(' + ') };
    }
    return undefined;
  }

  private combinationOf(keys: string[], route: Route | undefined): ChosenClass | undefined {
    const sorted = [...new Set(keys)].sort();
    const pick = (codes: string[], why: string): ChosenClass => {
      const fitting = codes.filter((c) => this.fit(c, route) > 0);
      const atc = (fitting.length > 0 ? fitting : codes)[0];
      return { atc3: atc.slice(0, 4), atc, rule: 'combination', why: `${why}: ${atc}`, ingredient: sorted.join(' + ') };
    };
    const exact = this.combinations.get(sorted.join(' + '));
    if (exact) return pick(exact, `WHO combination ${sorted.join(' and ')}`);
    for (const c of this.combinationsWithWords) {
      if (c.names.length + c.words.length !== sorted.length || !c.names.every((n) => sorted.includes(n))) continue;
      const rest = sorted.filter((k) => !c.names.includes(k));
      const used = new Set<number>();
      const matched = rest.every((k) => {
        const i = c.words.findIndex((w, j) => !used.has(j) && (w.ingredients?.map(normaliseDrugName).includes(k) || (w.atc ?? []).some((p) => (this.byName.get(k) ?? []).some((code) => code.startsWith(p)))));
        if (i < 0) return false;
        used.add(i);
        return true;
      });
      if (matched) return pick([c.code], `WHO combination ${c.names.join(' and ')} and ${c.words.map((w) => w.word).join(' and ')}`);
    }
    return undefined;
  }
}

/** Most remembered name classings; a full memo starts over (hostile input cannot grow it without bound). */
const MEMO_ENTRIES = 20_000;

/** Trailing words of a substance name that name its salt or hydrate, dropped when the WHO index lists the base. */
const SALT_WORDS = new Set(('hydrochloride hcl hydrobromide sodium potassium calcium magnesium succinate tartrate bitartrate maleate mesylate ' +
  'besylate citrate sulfate sulphate phosphate acetate fumarate hyclate monohydrate dihydrate trihydrate hemihydrate anhydrous propionate ' +
  'dipropionate furoate valerate disodium tromethamine bromide lactate decanoate xinafoate cypionate enanthate pamoate hydrate ' +
  'monosodium dimesylate hydrochlorides teoclate embonate benzoate gluconate mononitrate nitrate chloride oxalate').split(' '));

/** A rule's routes match a product's route; with no route given, any rule for oral or parenteral use (systemic assumed). */
function routeMatches(routes: Route[], route: Route | undefined): boolean {
  return route === undefined ? routes.includes('oral') || routes.includes('parenteral') : routes.includes(route);
}

function parseStrength(text: string | undefined): Strength | undefined {
  if (!text) return undefined;
  return parseProductName(`x ${text}`).ingredients[0]?.strength;
}

/** Sign of a - b when both are masses per the same denominator; undefined when they cannot be compared. */
function compareStrength(a: Strength, b: Strength): number | undefined {
  const x = strengthInMg(a);
  const y = strengthInMg(b);
  if (!x || !y || (x.per ?? '') !== (y.per ?? '')) return undefined;
  return x.mg - y.mg;
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (!list) map.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

function dedupe(classes: ChosenClass[]): ChosenClass[] {
  const seen = new Set<string>();
  return classes.filter((c) => (seen.has(c.atc3) ? false : (seen.add(c.atc3), true)));
}
