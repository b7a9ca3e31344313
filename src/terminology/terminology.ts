import { packageRoot } from '../common/package-root';
import { existsSync, readFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { CodeSystem, ConceptMap, Coding } from 'fhir/r4';
import type { CodeToken } from './terminology.types';
import { MIMIC_SYSTEM, SYSTEM, TOKEN_PREFIX } from './code-systems';
import {
  atc3Of,
  dotIcd10cm,
  dotIcd9Diagnosis,
  dotIcd9Procedure,
  drugNameCandidates,
  normaliseNdc,
  splitGsn,
  undotCode,
} from './code-normalise';
import { MAPPING_FILE, type CodeTitlesFile, type DdiPairsFile } from './mapping-files';
import type { MedicationClasses, TerminologyLookup } from './terminology.types';
import { AtcChooser, type AtcRouteRules, type ChosenClass, type Route } from './atc-choice';
import { parseProductName } from './rxnorm-name';
import { unflattenProduct, type MedicationConcept, type MedicationProduct } from './medication-resolver';

/** Which step of `medicationAtc3`'s order of preference produced the classes (for coverage reports). */
export type Atc3Source = 'atc' | 'ndc' | 'rxnorm' | 'gsn' | 'name' | 'none';
/** The code-map steps, in order of trust. */
const CODE_STEPS = ['ndc', 'rxnorm', 'gsn'] as const;

type LoadedKey = Exclude<keyof typeof MAPPING_FILE, 'index' | 'mimicLocalSystems'>;
/** Files parsed on first use; the loader keeps their text. */
const LAZY_KEYS = new Set<LoadedKey>(['icd9cmIcd10cm', 'titlesIcd9cmDiagnosis', 'titlesIcd9cmProcedure', 'titlesIcd10cm']);
/** The mapping files, keyed by MAPPING_FILE name: parsed JSON, or raw text for LAZY_KEYS. */
type MappingJson = Record<LoadedKey, unknown>;

const DIAGNOSIS_SYSTEMS = new Set<string>([SYSTEM.icd9cm, SYSTEM.icd10cm, MIMIC_SYSTEM.diagnosisIcd9, MIMIC_SYSTEM.diagnosisIcd10, SYSTEM.snomed]);
const PROCEDURE_SYSTEMS = new Set<string>([SYSTEM.icd9cm, SYSTEM.icd10pcs, SYSTEM.icd10pcsAlias, MIMIC_SYSTEM.procedureIcd9, MIMIC_SYSTEM.procedureIcd10, SYSTEM.snomed]);
/** Codings `medicationAtc3` reads, by the step of its order of preference they feed. */
export const MEDICATION_SYSTEMS: Readonly<Record<Exclude<Atc3Source, 'none'>, ReadonlyArray<string>>> = {
  atc: [SYSTEM.atc],
  ndc: [SYSTEM.ndc, MIMIC_SYSTEM.medicationNdc],
  rxnorm: [SYSTEM.rxnorm],
  gsn: [MIMIC_SYSTEM.medicationGsn],
  name: [MIMIC_SYSTEM.medicationName],
};

/**
 * The project's terminology: code → standard token, medication → ATC level 3, titles and DDI pairs,
 * loaded once from fhir-mappings/ and pure afterwards. Load it with `Terminology.load()` (async) or
 * `Terminology.loadSync()`.
 */
export class Terminology implements TerminologyLookup {
  private readonly ndcAtc3 = new Map<string, string[]>();
  private readonly ndcRxnorm = new Map<string, string[]>();
  private readonly rxnormAtc3 = new Map<string, string[]>();
  private readonly gsnAtc3 = new Map<string, string[]>();
  private readonly nameAtc3 = new Map<string, string[]>();
  /** GEM lookups, built on first use: they serve the icd9to10/icd10to9 helpers, not the timeline. */
  private readonly gem: () => { to10: Map<string, string[]>; to9: Map<string, string[]> };
  private readonly snomedIcd10 = new Map<string, { code: string; display?: string }>();
  private readonly snomedDisplay = new Map<string, string>();
  private readonly atcNames = new Map<string, string>();
  /** Titles (~100k codes) are parsed on first use, so loading stays fast; codings usually carry a display. */
  private readonly titleMaps: () => Record<'icd9cm' | 'icd9pcs' | 'icd10cm', Map<string, string>>;
  private readonly ddi: ReadonlyArray<readonly [string, string]>;
  /** Route-, form- and strength-aware choice among a substance's ATC codes (fhir-mappings/atc-route-rules.json). */
  readonly chooser: AtcChooser;

  private constructor(json: MappingJson, ddiPairs?: Array<[string, string]>) {
    readConceptMap(json.ndcAtc3 as ConceptMap, this.ndcAtc3);
    readConceptMap(json.ndcRxnorm as ConceptMap, this.ndcRxnorm);
    // Synthea's project-made map first, the NDC-derived map fills the RXCUIs it lacks.
    readConceptMap(json.rxnormAtc3Synthea as ConceptMap, this.rxnormAtc3);
    readConceptMap(json.rxnormAtc3ViaNdc as ConceptMap, this.rxnormAtc3);
    readConceptMap(json.gsnAtc3 as ConceptMap, this.gsnAtc3);
    readConceptMap(json.drugNameAtc3 as ConceptMap, this.nameAtc3);
    this.gem = lazy(() => {
      const to10 = new Map<string, string[]>();
      const to9 = new Map<string, string[]>();
      readConceptMap(parseMappingFile(MAPPING_FILE.icd9cmIcd10cm, json.icd9cmIcd10cm) as ConceptMap, to10, undotCode);
      for (const [icd9, icd10s] of to10) {
        const dotted = dotIcd9Diagnosis(icd9);
        for (const icd10 of icd10s) {
          const key = undotCode(icd10);
          const list = to9.get(key);
          if (!list) to9.set(key, [dotted]);
          else if (!list.includes(dotted)) list.push(dotted);
        }
      }
      return { to10, to9 };
    });
    for (const group of (json.snomedIcd10cm as ConceptMap).group ?? []) {
      for (const el of group.element ?? []) {
        if (!el.code) continue;
        if (el.display) this.snomedDisplay.set(el.code, el.display);
        const main = el.target?.find((t) => t.code && t.equivalence !== 'unmatched');
        if (main?.code && !this.snomedIcd10.has(el.code)) this.snomedIcd10.set(el.code, { code: main.code, display: main.display });
      }
    }
    const atcConcepts: Array<{ code: string; names: string[] }> = [];
    for (const concept of (json.atcCodeSystem as CodeSystem).concept ?? []) {
      if (concept.display) this.atcNames.set(concept.code, concept.display);
      atcConcepts.push({ code: concept.code, names: [concept.display ?? '', ...(concept.designation ?? []).map((d) => d.value)].filter((n) => n !== '') });
    }
    this.chooser = new AtcChooser(json.atcRouteRules as AtcRouteRules, atcConcepts, (name) => this.drugNameAtc3(name));
    const titles = (key: 'titlesIcd9cmDiagnosis' | 'titlesIcd9cmProcedure' | 'titlesIcd10cm') =>
      new Map((parseMappingFile(MAPPING_FILE[key], json[key]) as CodeTitlesFile).concept);
    this.titleMaps = lazy(() => ({ icd9cm: titles('titlesIcd9cmDiagnosis'), icd9pcs: titles('titlesIcd9cmProcedure'), icd10cm: titles('titlesIcd10cm') }));
    this.ddi = Object.freeze((ddiPairs ?? (json.ddiAtc3Pairs as DdiPairsFile).pairs).map((p) => Object.freeze([p[0], p[1]] as const)));
  }

  /** fhir-mappings/ of this checkout, found from this file upwards, so it works from src/ and dist/ (config readers override it). */
  static defaultDir(): string {
    return path.join(packageRoot(), 'fhir-mappings');
  }

  /** Load every map from `dir`; `ddiCsvPath` (atc3_a,atc3_b CSV) replaces the DDI pairs shipped in the folder. */
  static async load(dir = Terminology.defaultDir(), ddiCsvPath?: string): Promise<Terminology> {
    const json: Partial<MappingJson> = {};
    await Promise.all(
      loadedKeys().map(async (key) => {
        const file = path.join(dir, MAPPING_FILE[key]);
        const text = await readOrFail(file);
        json[key] = LAZY_KEYS.has(key) ? text : parseMappingFile(file, text);
      }),
    );
    const ddi = ddiCsvPath ? parseDdiCsv(ddiCsvPath, await fs.readFile(ddiCsvPath, 'utf8')) : undefined;
    return new Terminology(json as MappingJson, ddi);
  }

  /** Synchronous `load`, for CLI code and tests that cannot await. */
  static loadSync(dir = Terminology.defaultDir(), ddiCsvPath?: string): Terminology {
    const json: Partial<MappingJson> = {};
    for (const key of loadedKeys()) {
      const file = path.join(dir, MAPPING_FILE[key]);
      if (!existsSync(file)) throw new Error(`terminology: ${file} not found (run \`npm run mappings\`)`);
      const text = readFileSync(file, 'utf8');
      json[key] = LAZY_KEYS.has(key) ? text : parseMappingFile(file, text);
    }
    const ddi = ddiCsvPath ? parseDdiCsv(ddiCsvPath, readFileSync(ddiCsvPath, 'utf8')) : undefined;
    return new Terminology(json as MappingJson, ddi);
  }

  /** Build the lookups that are otherwise built on first use (titles, GEMs), e.g. at service start-up after the first response. */
  warm(): this {
    this.titleMaps();
    this.gem();
    return this;
  }

  // Serving looks the same diagnosis and procedure codes up for every request: remember results by
  // input (frozen, shared). Medications are not memoised: their keys (five codings and a name) cost
  // as much to look up as the classing itself, and the timeline already classes each Medication once.
  private readonly diagnosisMemo = new LookupMemo<CodeToken | null>(MEMO_ENTRIES);
  private readonly procedureMemo = new LookupMemo<CodeToken | null>(MEMO_ENTRIES);

  diagnosis(coding: Coding): CodeToken | undefined {
    return memoised(this.diagnosisMemo, codingKey(coding), () => this.diagnosisOf(coding));
  }

  private diagnosisOf(coding: Coding): CodeToken | undefined {
    const system = coding.system ?? '';
    const raw = coding.code?.trim();
    if (!raw || !DIAGNOSIS_SYSTEMS.has(system)) return undefined;
    if (system === SYSTEM.snomed) {
      const mapped = this.snomedIcd10.get(raw);
      if (mapped) {
        const code = dotIcd10cm(mapped.code);
        return withDisplay({ token: `${TOKEN_PREFIX.icd10cm}:${code}`, system: SYSTEM.icd10cm, code }, mapped.display ?? this.titleMaps().icd10cm.get(undotCode(code)) ?? coding.display);
      }
      return withDisplay({ token: `${TOKEN_PREFIX.snomed}:${raw}`, system: SYSTEM.snomed, code: raw }, coding.display ?? this.snomedDisplay.get(raw));
    }
    if (system === SYSTEM.icd10cm || system === MIMIC_SYSTEM.diagnosisIcd10) {
      const code = dotIcd10cm(raw);
      return withDisplay({ token: `${TOKEN_PREFIX.icd10cm}:${code}`, system: SYSTEM.icd10cm, code }, coding.display ?? this.titleMaps().icd10cm.get(undotCode(code)));
    }
    const code = dotIcd9Diagnosis(raw);
    return withDisplay({ token: `${TOKEN_PREFIX.icd9cm}:${code}`, system: SYSTEM.icd9cm, code }, coding.display ?? this.titleMaps().icd9cm.get(undotCode(code)));
  }

  procedure(coding: Coding): CodeToken | undefined {
    return memoised(this.procedureMemo, codingKey(coding), () => this.procedureOf(coding));
  }

  private procedureOf(coding: Coding): CodeToken | undefined {
    const system = coding.system ?? '';
    const raw = coding.code?.trim();
    if (!raw || !PROCEDURE_SYSTEMS.has(system)) return undefined;
    if (system === SYSTEM.snomed) {
      return withDisplay({ token: `${TOKEN_PREFIX.snomed}:${raw}`, system: SYSTEM.snomed, code: raw }, coding.display);
    }
    if (system === SYSTEM.icd9cm || system === MIMIC_SYSTEM.procedureIcd9) {
      const code = dotIcd9Procedure(raw);
      return withDisplay({ token: `${TOKEN_PREFIX.icd9pcs}:${code}`, system: SYSTEM.icd9cm, code }, coding.display ?? this.titleMaps().icd9pcs.get(undotCode(code)));
    }
    const code = undotCode(raw);
    return withDisplay({ token: `${TOKEN_PREFIX.icd10pcs}:${code}`, system: SYSTEM.icd10pcs, code }, coding.display);
  }

  /** ATC3 classes of a medication given as codings and text; codings tagged by `flattenProduct` carry its parts, route and form. */
  medicationAtc3(codings: Coding[], text?: string): string[] {
    return this.classifyMedication(unflattenProduct(codings, text)).atc3;
  }

  /** `medicationAtc3` plus the step that produced the classes. */
  medicationAtc3WithSource(codings: Coding[], text?: string): { atc3: string[]; source: Atc3Source } {
    const { atc3, source } = this.classifyMedication(unflattenProduct(codings, text));
    return { atc3, source };
  }

  /**
   * The classes of a medication and the rule that chose each. Per part (one, or each ingredient of
   * a mix): an ATC coding (truncated to level 3) wins; else the code maps in order of trust (NDC,
   * directly then through RxNorm → RxNorm → GSN), checked against the route: a mapped class the
   * route rules exclude, or a substance the rules class by strength or route, gives way to the
   * classing of the product's name; with no code mapped, the name is classed (RxNorm normalised
   * names parsed to ingredients, strengths and dose form; WHO index chosen by route, strength,
   * combination; drug-name map as fallback). Empty classes come back as rule `not-assessed`.
   */
  classifyMedication(product: MedicationProduct): MedicationClasses {
    const route = this.routeOf(product);
    const classes: ChosenClass[] = [];
    let source: Atc3Source = 'none';
    const rank: Atc3Source[] = ['none', 'name', 'gsn', 'rxnorm', 'ndc', 'atc'];
    for (const part of product.parts) {
      const got = this.classifyPart(part, route, product.strengthText);
      for (const c of got.classes) if (!classes.some((x) => x.atc3 === c.atc3)) classes.push(c);
      if (got.classes.length > 0 && rank.indexOf(got.source) > rank.indexOf(source)) source = got.source;
    }
    const atc3 = [...new Set(classes.map((c) => c.atc3))].sort();
    const rule = classes.length === 0 ? 'not-assessed' : [...new Set(classes.map((c) => c.rule))].join('+');
    const names = product.parts.map((p) => p.text).filter(Boolean);
    const codes = product.parts.flatMap((p) => p.codings);
    return { display: names.length > 0 ? names.join(' / ') : undefined, codes, atc3, rule, source, route, classes };
  }

  /**
   * The route-blind classing this project used before the route rules (per part: ATC coding, NDC,
   * RxNorm, GSN, then the first drug-name map hit, whose multi-class names keep their first-listed
   * ATC code). Kept only as the baseline of the coverage report's label changes.
   */
  firstListedAtc3(product: MedicationProduct): string[] {
    const out = new Set<string>();
    for (const part of product.parts) {
      const codes = (step: keyof typeof MEDICATION_SYSTEMS) =>
        part.codings.filter((c) => c.code && c.system && MEDICATION_SYSTEMS[step].includes(c.system)).map((c) => (c.code as string).trim());
      let found = codes('atc').map((c) => atc3Of(c)).filter((a): a is string => a !== undefined);
      for (const step of CODE_STEPS) if (found.length === 0) found = codes(step).flatMap((c) => this.codeAtc3(step, c));
      if (found.length === 0) {
        for (const name of this.namesOf(part)) {
          found = this.drugNameAtc3(name);
          if (found.length > 0) break;
        }
      }
      for (const a of found) out.add(a);
    }
    return [...out].sort();
  }

  /** The route of a product: the request's route (codes, then words), else the Medication's form, else the dose form in its name. */
  routeOf(product: MedicationProduct): Route | undefined {
    const fromConcept = (c: MedicationConcept | undefined) => {
      for (const coding of c?.codings ?? []) {
        const r = this.chooser.routeOfCoding(coding) ?? this.chooser.routeOfText(coding.display);
        if (r) return r;
      }
      return this.chooser.routeOfText(c?.text);
    };
    const explicit = fromConcept(product.route) ?? fromConcept(product.form);
    if (explicit) return explicit;
    for (const part of product.parts) {
      for (const name of this.namesOf(part)) {
        const r = this.chooser.routeOfText(parseProductName(name).doseForm);
        if (r) return r;
      }
    }
    return undefined;
  }

  private classifyPart(part: MedicationConcept, route: Route | undefined, strengthText: string | undefined): { classes: readonly ChosenClass[]; source: Atc3Source } {
    const codes = (step: keyof typeof MEDICATION_SYSTEMS) =>
      part.codings.filter((c) => c.code && c.system && MEDICATION_SYSTEMS[step].includes(c.system)).map((c) => (c.code as string).trim());
    const atcCodes = codes('atc').filter((c) => atc3Of(c));
    if (atcCodes.length > 0) {
      return { classes: atcCodes.map((c) => ({ atc3: atc3Of(c) as string, atc: c.toUpperCase(), rule: 'atc-coding', why: `ATC coding ${c}` })), source: 'atc' };
    }
    const named = () => {
      for (const name of this.namesOf(part)) {
        const got = this.chooser.classifyName(name, { route, strengthText });
        if (got.length > 0) return got;
      }
      return [];
    };
    for (const step of CODE_STEPS) {
      const found = new Set<string>();
      for (const code of codes(step)) for (const a of this.codeAtc3(step, code)) found.add(a);
      if (found.size === 0) continue;
      const mapped = [...found].sort();
      const byName = named();
      const decisive = byName.length > 0 && byName.every((c) => c.rule === 'substance' || c.rule === 'combination');
      const excluded = route === undefined ? [] : mapped.filter((a) => this.chooser.fit(a, route) === 0 || this.narrowerRuleExcludes(a, route));
      const namedSet = byName.map((c) => c.atc3).sort().join(' ');
      if (byName.length > 0 && namedSet !== mapped.join(' ') && (decisive || excluded.length > 0)) {
        const reason = decisive ? `${step} map gave ${mapped.join(', ')}; the name's ${byName.map((c) => c.rule).join('/')} rule decides` : `${step} map gave ${mapped.join(', ')}, ${excluded.join(', ')} not for route ${route}`;
        return { classes: byName.map((c) => ({ ...c, rule: 'code-map-corrected', why: `${reason}: ${c.why}` })), source: step };
      }
      const kept = excluded.length > 0 && excluded.length < mapped.length ? mapped.filter((a) => !excluded.includes(a)) : mapped;
      const why = kept.length < mapped.length ? `${step} map (${mapped.join(', ')}; ${excluded.join(', ')} not for route ${route})` : `${step} map`;
      return { classes: kept.map((a) => ({ atc3: a, atc: a, rule: 'code-map', why: `${why}: ${codes(step).join(', ')} → ${a}` })), source: step };
    }
    const byName = named();
    return { classes: byName, source: byName.length > 0 ? 'name' : 'none' };
  }

  /** A code map's ATC3 class holds a narrower group (e.g. G02CC in G02C) that the route rules keep off this route. */
  private narrowerRuleExcludes(atc3: string, route: Route): boolean {
    return this.chooser.fit(atc3, route) !== 2 && this.chooser.rulesUnder(atc3).some((r) => !r.routes.includes(route));
  }

  private codeAtc3(step: (typeof CODE_STEPS)[number], code: string): string[] {
    if (step === 'ndc') return this.ndcToAtc3(code);
    if (step === 'rxnorm') return this.rxnormAtc3.get(code) ?? [];
    return splitGsn(code).flatMap((gsn) => this.gsnAtc3.get(gsn) ?? []);
  }

  /** Names a part is known by, most specific first: RxNorm displays (normalised names), the text, MIMIC name codings, other displays. */
  private namesOf(part: MedicationConcept): string[] {
    const names = [
      ...part.codings.filter((c) => c.system === SYSTEM.rxnorm && c.display).map((c) => c.display as string),
      ...(part.text ? [part.text] : []),
      ...part.codings.filter((c) => c.system === MIMIC_SYSTEM.medicationName && c.code).map((c) => c.code as string),
      ...part.codings.map((c) => c.display ?? ''),
    ].filter((n) => n.trim() !== '');
    return [...new Set(names)];
  }

  /** ATC3 of an NDC in any accepted form: the NDC → ATC3 map, else NDC → RxNorm → ATC3. */
  ndcToAtc3(ndc: string): string[] {
    const key = normaliseNdc(ndc);
    if (!key) return [];
    const direct = this.ndcAtc3.get(key);
    if (direct) return direct;
    const out = new Set<string>();
    for (const rxcui of this.ndcRxnorm.get(key) ?? []) for (const a of this.rxnormAtc3.get(rxcui) ?? []) out.add(a);
    return [...out].sort();
  }

  /** ATC3 of a drug name: the whole normalised name, else the longest leading run of its words that is a known name. */
  drugNameAtc3(name: string): string[] {
    for (const key of drugNameCandidates(name)) {
      const hit = this.nameAtc3.get(key);
      if (hit) return hit;
    }
    return [];
  }

  atc3Name(atc3: string): string | undefined {
    const code = atc3.trim().toUpperCase();
    return code.length === 4 ? this.atcNames.get(code) : undefined;
  }

  /** WHO name of an ATC code of any level. */
  atcName(code: string): string | undefined {
    return this.atcNames.get(code.trim().toUpperCase());
  }

  codeTitle(token: string): string | undefined {
    const colon = token.indexOf(':');
    if (colon < 0) return undefined;
    const prefix = token.slice(0, colon);
    const code = token.slice(colon + 1);
    switch (prefix) {
      case TOKEN_PREFIX.icd9cm: return this.titleMaps().icd9cm.get(undotCode(code));
      case TOKEN_PREFIX.icd9pcs: return this.titleMaps().icd9pcs.get(undotCode(code));
      case TOKEN_PREFIX.icd10cm: return this.titleMaps().icd10cm.get(undotCode(code));
      case TOKEN_PREFIX.snomed: return this.snomedDisplay.get(code);
      case TOKEN_PREFIX.atc3: return this.atc3Name(code);
      default: return undefined;
    }
  }

  ddiPairs(): ReadonlyArray<readonly [string, string]> {
    return this.ddi;
  }

  /** ICD-10-CM codes (dotted) a ICD-9-CM diagnosis maps to in the CMS GEM (forward); empty for GEM no-map or unknown codes. */
  icd9to10(code: string): string[] {
    return [...(this.gem().to10.get(undotCode(code)) ?? [])];
  }

  /** ICD-9-CM diagnosis codes (dotted) whose forward GEM entry lists this ICD-10-CM code (the forward GEM read backwards). */
  icd10to9(code: string): string[] {
    return [...(this.gem().to9.get(undotCode(code)) ?? [])];
  }
}

function loadedKeys(): LoadedKey[] {
  return (Object.keys(MAPPING_FILE) as Array<keyof typeof MAPPING_FILE>).filter((k): k is LoadedKey => k !== 'index' && k !== 'mimicLocalSystems');
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

async function readOrFail(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`terminology: ${file} not found (run \`npm run mappings\`)`);
    throw e;
  }
}

function parseMappingFile(file: string, text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`terminology: ${file} is not valid JSON (${(e as Error).message})`);
  }
}

/** ConceptMap → source code → target codes, in group order; earlier groups win, so a later map only fills gaps. */
function readConceptMap(map: ConceptMap, into: Map<string, string[]>, key: (code: string) => string = (c) => c): void {
  for (const group of map.group ?? []) {
    for (const el of group.element ?? []) {
      if (!el.code) continue;
      const k = key(el.code);
      if (into.has(k)) continue;
      const targets = (el.target ?? []).filter((t) => t.code && t.equivalence !== 'unmatched' && t.equivalence !== 'disjoint').map((t) => t.code as string);
      if (targets.length > 0) into.set(k, targets);
    }
  }
}

function parseDdiCsv(file: string, text: string): Array<[string, string]> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines[0]?.replace(/\s/g, '') !== 'atc3_a,atc3_b') throw new Error(`${file}:1: expected the header atc3_a,atc3_b`);
  return lines.slice(1).map((line, i) => {
    const [a, b] = line.split(',').map((s) => s.trim().toUpperCase());
    if (!/^[A-Z]\d\d[A-Z]$/.test(a ?? '') || !/^[A-Z]\d\d[A-Z]$/.test(b ?? '')) throw new Error(`${file}:${i + 2}: expected two ATC3 codes`);
    return a < b ? [a, b] : [b, a];
  });
}

/** Most memoised lookups kept per kind; a full memo starts over (hostile input cannot grow it without bound). */
const MEMO_ENTRIES = 50_000;

/** Results of a pure lookup by a sequence of strings, in nested Maps (no key string to build and hash per call); a full memo starts over. */
class LookupMemo<V> {
  private root: MemoNode<V> = {};
  private entries = 0;

  constructor(private readonly maxEntries: number) {}

  get(parts: readonly (string | undefined)[]): V | undefined {
    let node: MemoNode<V> | undefined = this.root;
    for (const part of parts) {
      node = node.children?.get(part);
      if (node === undefined) return undefined;
    }
    return node.value;
  }

  set(parts: readonly (string | undefined)[], value: V): void {
    if (this.entries >= this.maxEntries) {
      this.root = {};
      this.entries = 0;
    }
    let node = this.root;
    for (const part of parts) {
      node.children ??= new Map();
      let next = node.children.get(part);
      if (next === undefined) {
        next = {};
        node.children.set(part, next);
      }
      node = next;
    }
    if (node.value === undefined) this.entries++;
    node.value = value;
  }
}

interface MemoNode<V> {
  value?: V;
  children?: Map<string | undefined, MemoNode<V>>;
}

/** The cached code (frozen, so requests cannot change each other's), computing it on a miss; no key → not cached. */
function memoised(
  memo: LookupMemo<CodeToken | null>, key: (string | undefined)[] | undefined, compute: () => CodeToken | undefined,
): CodeToken | undefined {
  if (key === undefined) return compute();
  let hit = memo.get(key);
  if (hit === undefined) {
    const code = compute();
    hit = code ? Object.freeze(code) : null;
    memo.set(key, hit);
  }
  return hit ?? undefined;
}

/**
 * A Coding's system, code and display as a memo key (absent and empty stay distinct, as the
 * lookups treat them differently); undefined when a field is not a string, so malformed input
 * takes the uncached path and fails exactly as before.
 */
function codingKey(c: Coding): (string | undefined)[] | undefined {
  if (typeof c !== 'object' || c === null) return undefined;
  const { system, code, display } = c;
  if (!isOptionalString(system) || !isOptionalString(code) || !isOptionalString(display)) return undefined;
  return [system, code, display];
}

function isOptionalString(v: unknown): v is string | undefined {
  return v === undefined || typeof v === 'string';
}

function withDisplay(code: CodeToken, display: string | undefined): CodeToken {
  return display ? { ...code, display } : code;
}
