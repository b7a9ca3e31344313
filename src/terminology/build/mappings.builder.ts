import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { CodeSystem, ConceptMap, ConceptMapGroup, ConceptMapGroupElement, ConceptMapGroupElementTarget } from 'fhir/r4';
import { MIMIC_SYSTEM, SYSTEM } from '../code-systems';
import { atc3Of, dotIcd10cm, dotIcd9Diagnosis, normaliseDrugName, normaliseNdc, splitGsn, undotCode } from '../code-normalise';
import { MAPPING_FILE, MAPPING_URL_BASE, type CodeTitlesFile, type DdiPairsFile, type MappingIndexFile } from '../mapping-files';
import { readCsvRecords, type CsvRecord } from './csv-table';
import { stableJson } from './stable-json';
import { packageRoot } from '../../common/package-root';
import type { AtcRouteRules } from '../atc-choice';

/** The project-made route rules, relative to the package root (copied, checked, into fhir-mappings/). */
const ROUTE_RULES_SOURCE = 'src/terminology/build/atc-route-rules.json';
import { compareStrings as cmp } from '../../common/compare-strings';
import { sha256Hex } from '../../common/sha256';

/** Equivalence codes of FHIR R4 ConceptMap (ConceptMapEquivalence). */
type Equivalence = ConceptMapGroupElementTarget['equivalence'];

/** The shared input files, relative to the shared data folder. */
export const SHARED_INPUT = {
  gamenetNdcRxnorm: 'medrec-maps-gamenet/ndc2rxnorm_mapping.csv',
  gamenetDdi: 'medrec-maps-gamenet/ddi_atc3_pairs.csv',
  gamenetLicense: 'medrec-maps-gamenet/LICENSE.txt',
  molerecNdcAtc3: 'medrec-maps-molerec/ndc2atc3.csv',
  molerecLicense: 'medrec-maps-molerec/LICENSE.txt',
  ethosAtc: 'code-maps-ethos/atc_coding.csv.gz',
  ethosGsn: 'code-maps-ethos/gsn_atc_ndc_mapping.csv.gz',
  ethosDrugName: 'code-maps-ethos/mimic_drug_to_atc.csv.gz',
  ethosGem: 'code-maps-ethos/icd_cm_9_to_10_mapping.csv.gz',
  ethosIcd10cmOrder: 'code-maps-ethos/icd10cm-order-Jan-2021.csv.gz',
  ethosLicense: 'code-maps-ethos/LICENSE.txt',
  syntheaRxnormAtc: 'synthea-code-maps/synthea_rxnorm_atc.csv',
  syntheaSnomedIcd10cm: 'synthea-code-maps/synthea_snomed_icd10cm.csv',
  syntheaLicense: 'synthea-code-maps/LICENSE-synthea-module-builder.txt',
  mimicIvDiagnosisTitles: 'mimic-iv-demo-2.2/hosp/d_icd_diagnoses.csv.gz',
  mimicIvProcedureTitles: 'mimic-iv-demo-2.2/hosp/d_icd_procedures.csv.gz',
  mimicIvLicense: 'mimic-iv-demo-2.2/LICENSE.txt',
} as const;

/** Licence texts copied next to the maps (MIT and Apache-2.0 require the notice; ODbL requires attribution and the licence). */
const LICENSE_COPIES: ReadonlyArray<readonly [keyof typeof SHARED_INPUT, string]> = [
  ['gamenetLicense', 'LICENSE-gamenet-MIT.txt'],
  ['molerecLicense', 'LICENSE-molerec-MIT.txt'],
  ['ethosLicense', 'LICENSE-ethos-MIT.txt'],
  ['syntheaLicense', 'LICENSE-synthea-module-builder-Apache-2.0.txt'],
  ['mimicIvLicense', 'LICENSE-mimic-iv-demo-ODbL-1.0.txt'],
];

const PUBLISHER = 'LEADER CDS project (maps built by `leader build-mappings` from third-party sources named in description)';
const WHO_ATC_NOTICE =
  'ATC codes: (c) WHO Collaborating Centre for Drug Statistics Methodology (https://atcddd.fhi.no/); used with attribution, no commercial redistribution.';
const GAMENET = 'GAMENet (https://github.com/sjy1203/GAMENet, commit da695b4f, MIT licence, (c) 2018 Junyuan Shang; see LICENSE-gamenet-MIT.txt)';
const MOLEREC = 'MoleRec (https://github.com/yangnianzu0515/MoleRec, commit dd5afaf0, MIT licence, (c) 2023 Nianzu Yang; see LICENSE-molerec-MIT.txt)';
const ETHOS = 'ETHOS (https://github.com/ipolharvard/ethos-paper, MIT licence, (c) 2024 Pawel Renc; see LICENSE-ethos-MIT.txt)';
const SYNTHEA_MAPS = 'the LEADER project\'s synthea-code-maps (built by hand from Synthea module codes, Apache-2.0, (c) The MITRE Corporation; see LICENSE-synthea-module-builder-Apache-2.0.txt)';

/** The whole fhir-mappings/ folder as file name → content, built in memory so it can be written atomically or compared. */
export type MappingFiles = Map<string, string>;

export interface BuildSummary {
  files: number;
  bytes: number;
  counts: Record<string, number>;
}

/** Reads the shared data and builds every mapping file. Deterministic: the same inputs give byte-identical files. */
export class MappingsBuilder {
  private readonly sha = new Map<string, string>();

  /** `routeRulesFile`: the project-made route rules (src/terminology/build/atc-route-rules.json by default). */
  constructor(private readonly sharedDir: string, private readonly routeRulesFile = path.join(packageRoot(), ROUTE_RULES_SOURCE)) {}

  build(): { files: MappingFiles; summary: BuildSummary } {
    for (const rel of Object.values(SHARED_INPUT)) {
      if (!existsSync(this.file(rel))) throw new Error(`missing shared input ${this.file(rel)} (is --shared the shared data folder?)`);
    }
    const files: MappingFiles = new Map();
    const counts: Record<string, number> = {};
    const put = (name: string, value: unknown, count: number) => {
      files.set(name, stableJson(value));
      counts[name] = count;
    };

    const ndcAtc3 = this.ndcAtc3();
    put(MAPPING_FILE.ndcAtc3, ndcAtc3.map, ndcAtc3.count);
    const ndcRxnorm = this.ndcRxnorm();
    put(MAPPING_FILE.ndcRxnorm, ndcRxnorm.map, ndcRxnorm.count);
    const synthea = this.rxnormAtc3Synthea();
    put(MAPPING_FILE.rxnormAtc3Synthea, synthea.map, synthea.count);
    const viaNdc = this.rxnormAtc3ViaNdc(ndcRxnorm.pairs, ndcAtc3.pairs);
    put(MAPPING_FILE.rxnormAtc3ViaNdc, viaNdc.map, viaNdc.count);
    const gsn = this.gsnAtc3();
    put(MAPPING_FILE.gsnAtc3, gsn.map, gsn.count);
    const atc = this.atcCodeSystem();
    put(MAPPING_FILE.atcCodeSystem, atc.codeSystem, atc.count);
    const routeRules = this.atcRouteRules(atc.codeSystem);
    put(MAPPING_FILE.atcRouteRules, routeRules, routeRules.classRoutes.length + routeRules.substances.length + routeRules.primary.length + routeRules.solutions.length);
    const names = this.drugNameAtc3(atc.level5Names);
    put(MAPPING_FILE.drugNameAtc3, names.map, names.count);
    const gem = this.icd9cmIcd10cm();
    put(MAPPING_FILE.icd9cmIcd10cm, gem.map, gem.count);
    const snomed = this.snomedIcd10cm();
    put(MAPPING_FILE.snomedIcd10cm, snomed.map, snomed.count);
    const local = this.mimicLocalSystems();
    put(MAPPING_FILE.mimicLocalSystems, local, local.group?.length ?? 0);
    for (const t of this.titles()) put(t.file, t.content, t.content.count);
    const ddi = this.ddiPairs();
    put(MAPPING_FILE.ddiAtc3Pairs, ddi, ddi.count);

    for (const [key, name] of LICENSE_COPIES) files.set(name, readFileSync(this.file(SHARED_INPUT[key]), 'utf8'));
    files.set('PROVENANCE.md', this.provenance(counts));

    const index: MappingIndexFile = {
      description: 'Files of fhir-mappings/ with their sha256 (written by `leader build-mappings`; pin this file\'s hash in model manifests).',
      files: [...files.keys()].sort().map((file) => ({
        file,
        sha256: sha256Hex(files.get(file) as string),
        bytes: Buffer.byteLength(files.get(file) as string),
        kind: kindOf(file),
      })),
    };
    files.set(MAPPING_FILE.index, stableJson(index));
    const bytes = [...files.values()].reduce((s, v) => s + Buffer.byteLength(v), 0);
    return { files, summary: { files: files.size, bytes, counts } };
  }

  private file(rel: string): string {
    return path.join(this.sharedDir, rel);
  }

  private records(key: keyof typeof SHARED_INPUT, required: string[]): CsvRecord[] {
    const file = this.file(SHARED_INPUT[key]);
    this.sha.set(SHARED_INPUT[key], sha256Hex(readFileSync(file)));
    return readCsvRecords(file, required);
  }

  /** "source file (sha256 prefix)" for descriptions, so a map names the exact input it came from. */
  private cite(key: keyof typeof SHARED_INPUT): string {
    const rel = SHARED_INPUT[key];
    const digest = this.sha.get(rel) ?? sha256Hex(readFileSync(this.file(rel)));
    return `\`${rel}\` (sha256 ${digest.slice(0, 16)}…)`;
  }

  private conceptMap(
    id: string,
    meta: { title: string; description: string; copyright: string; status?: 'draft' | 'active'; experimental?: boolean },
    source: string,
    target: string,
    elements: ConceptMapGroupElement[],
    extraGroups: ConceptMapGroup[] = [],
  ): ConceptMap {
    return {
      resourceType: 'ConceptMap',
      id,
      url: `${MAPPING_URL_BASE}/ConceptMap/${id}`,
      version: '1.0.0',
      name: pascal(id),
      title: meta.title,
      status: meta.status ?? 'active',
      experimental: meta.experimental ?? false,
      publisher: PUBLISHER,
      description: meta.description,
      copyright: meta.copyright,
      sourceUri: source,
      targetUri: target,
      group: [{ source, target, element: elements }, ...extraGroups],
    };
  }

  private ndcAtc3() {
    const rows = this.records('molerecNdcAtc3', ['ndc', 'atc3']);
    const pairs = new Map<string, Set<string>>();
    for (const r of rows) {
      const ndc = normaliseNdc(r.ndc);
      const atc3 = atc3Of(r.atc3);
      if (ndc && atc3) addTo(pairs, ndc, atc3);
    }
    const map = this.conceptMap(
      'ndc-atc3-molerec',
      {
        title: 'NDC (11-digit) to ATC level 3',
        description: `NDC (11-digit 5-4-2, no hyphens) to ATC level 3 (4 characters), from ${this.cite('molerecNdcAtc3')}, the NDCs of MIMIC-III that the SafeDrug/MoleRec pipeline mapped (NDC -> RXCUI -> ATC4 -> ATC3). Source: ${MOLEREC}. Normalise 10-digit hyphenated NDCs to 11 digits before lookup.`,
        copyright: `Map: MIT licence, (c) 2023 Nianzu Yang (MoleRec). ${WHO_ATC_NOTICE} NDC: US FDA, public domain.`,
      },
      SYSTEM.ndc,
      SYSTEM.atc,
      sortedElements(pairs, 'wider'),
    );
    return { map, pairs, count: pairs.size };
  }

  private ndcRxnorm() {
    const rows = this.records('gamenetNdcRxnorm', ['ndc', 'rxcui']);
    const pairs = new Map<string, Set<string>>();
    for (const r of rows) {
      const ndc = normaliseNdc(r.ndc);
      if (ndc && /^\d+$/.test(r.rxcui.trim())) addTo(pairs, ndc, r.rxcui.trim());
    }
    const map = this.conceptMap(
      'ndc-rxnorm-gamenet',
      {
        title: 'NDC (11-digit) to RxNorm RXCUI',
        description: `NDC (11-digit, as in MIMIC-III PRESCRIPTIONS.NDC) to RxNorm RXCUI, from ${this.cite('gamenetNdcRxnorm')} (a CSV form of GAMENet's ndc2rxnorm_mapping.txt). Source: ${GAMENET}.`,
        copyright: 'Map: MIT licence, (c) 2018 Junyuan Shang (GAMENet). RxNorm: US NLM (SAB=RXNORM, no restrictions). NDC: US FDA, public domain.',
      },
      SYSTEM.ndc,
      SYSTEM.rxnorm,
      sortedElements(pairs, 'equivalent'),
    );
    return { map, pairs, count: pairs.size };
  }

  private rxnormAtc3Synthea() {
    const rows = this.records('syntheaRxnormAtc', ['rxcui', 'rxnorm_display', 'atc3', 'method']);
    const elements: ConceptMapGroupElement[] = [];
    let mapped = 0;
    for (const r of [...rows].sort((a, b) => cmp(a.rxcui, b.rxcui))) {
      const atc3 = uniqueSorted(r.atc3.split(';').map((c) => atc3Of(c)).filter(isString));
      if (atc3.length > 0) mapped++;
      elements.push({
        code: r.rxcui.trim(),
        display: r.rxnorm_display,
        target: atc3.length > 0
          ? atc3.map((code) => ({ code, equivalence: 'wider' as Equivalence }))
          : [{ equivalence: 'unmatched' as Equivalence, comment: `not mapped (${r.method})` }],
      });
    }
    const map = this.conceptMap(
      'rxnorm-atc3-synthea',
      {
        title: 'RxNorm (Synthea medications) to ATC level 3',
        description: `RxNorm RXCUI to ATC level 3 for the ${rows.length} RXCUIs of the Synthea modules and shared Synthea samples, from ${this.cite('syntheaRxnormAtc')}. Built in the LEADER project from ingredient names matched to WHO ATC level-5 names (method per row in the source file); a combination product lists the ATC3 of every ingredient. Not reviewed clinically. Source: ${SYNTHEA_MAPS}.`,
        copyright: `RxNorm codes and names: US NLM via Synthea (Apache-2.0). ${WHO_ATC_NOTICE} Mapping choices: LEADER project.`,
      },
      SYSTEM.rxnorm,
      SYSTEM.atc,
      elements,
    );
    return { map, count: mapped };
  }

  /** RXCUI → ATC3 derived by joining NDC→RXCUI (GAMENet) with NDC→ATC3 (MoleRec): RxNorm codes real EHRs send for MIMIC-era drugs. */
  private rxnormAtc3ViaNdc(ndcRxnorm: Map<string, Set<string>>, ndcAtc3: Map<string, Set<string>>) {
    const pairs = new Map<string, Set<string>>();
    for (const [ndc, rxcuis] of ndcRxnorm) {
      const atc3 = ndcAtc3.get(ndc);
      if (!atc3) continue;
      for (const rxcui of rxcuis) for (const a of atc3) addTo(pairs, rxcui, a);
    }
    const map = this.conceptMap(
      'rxnorm-atc3-via-ndc',
      {
        title: 'RxNorm RXCUI to ATC level 3 (derived through NDC)',
        description: `RxNorm RXCUI to ATC level 3, derived here by joining ${this.cite('gamenetNdcRxnorm')} (NDC -> RXCUI, ${GAMENET}) with ${this.cite('molerecNdcAtc3')} (NDC -> ATC3, ${MOLEREC}) on the NDC; an RXCUI reached from NDCs of different classes lists every class. Used after the Synthea RxNorm map.`,
        copyright: `Derived from two MIT-licensed maps: (c) 2018 Junyuan Shang (GAMENet), (c) 2023 Nianzu Yang (MoleRec). ${WHO_ATC_NOTICE}`,
      },
      SYSTEM.rxnorm,
      SYSTEM.atc,
      sortedElements(pairs, 'wider'),
    );
    return { map, count: pairs.size };
  }

  private gsnAtc3() {
    const rows = this.records('ethosGsn', ['gsn', 'atc', 'ndc']);
    const pairs = new Map<string, Set<string>>();
    for (const r of rows) {
      const atc3 = atc3Of(r.atc);
      for (const gsn of splitGsn(r.gsn)) if (atc3) addTo(pairs, gsn, atc3);
    }
    const map = this.conceptMap(
      'gsn-atc3-ethos',
      {
        title: 'First Databank GSN to ATC level 3',
        description: `First Databank Generic Sequence Number (6 digits, as in MIMIC prescriptions.gsn) to ATC level 3 (first 4 characters of the ATC code; level-2 rows dropped), from ${this.cite('ethosGsn')}. Built by the ETHOS authors for MIMIC-IV tokenisation; provenance undocumented, a convenience map. Source: ${ETHOS}.`,
        copyright: `Map: MIT licence, (c) 2024 Pawel Renc (ETHOS). GSN is a First Databank identifier. ${WHO_ATC_NOTICE}`,
      },
      MIMIC_SYSTEM.medicationGsn,
      SYSTEM.atc,
      sortedElements(pairs, 'wider'),
    );
    return { map, count: pairs.size };
  }

  /** ATC names of all levels as a FHIR CodeSystem (fragment). The first spelling is the display, later spellings are designations. */
  private atcCodeSystem() {
    const rows = this.records('ethosAtc', ['atc_code', 'atc_name']);
    const byCode = new Map<string, string[]>();
    const level5Names = new Map<string, Set<string>>();
    for (const r of rows) {
      const code = r.atc_code.trim().toUpperCase();
      const name = r.atc_name.trim();
      if (!/^[A-Z](\d\d([A-Z]([A-Z](\d\d)?)?)?)?$/.test(code) || name === '') continue;
      const names = byCode.get(code) ?? [];
      if (!names.includes(name)) names.push(name);
      byCode.set(code, names);
      if (code.length === 7) addTo(level5Names, normaliseDrugName(name), code.slice(0, 4));
    }
    const codeSystem: CodeSystem = {
      resourceType: 'CodeSystem',
      id: 'atc-names',
      url: `${MAPPING_URL_BASE}/CodeSystem/atc-names`,
      version: '1.0.0',
      name: 'AtcNames',
      title: 'WHO ATC classification: English names, levels 1-5 (lower case)',
      status: 'active',
      experimental: false,
      publisher: PUBLISHER,
      description: `Codes and lower-case English names of the WHO Anatomical Therapeutic Chemical classification, all levels, from ${this.cite('ethosAtc')} (${ETHOS}). A fragment of the code system ${SYSTEM.atc}: names follow that file, where some codes have two spellings (the first is the display, the others are designations). ATC level 3 (4 characters) is LEADER's medication label space.`,
      copyright: WHO_ATC_NOTICE,
      caseSensitive: true,
      content: 'fragment',
      count: byCode.size,
      concept: [...byCode.keys()].sort(cmp).map((code) => {
        const [display, ...others] = byCode.get(code) as string[];
        return others.length > 0
          ? { code, display, designation: others.map((value) => ({ value })) }
          : { code, display };
      }),
    };
    return { codeSystem, count: byCode.size, level5Names };
  }

  /**
   * The project's route rules (src/terminology/build/atc-route-rules.json), checked against the WHO
   * index: every ATC code they name exists, every substance and synonym target is a WHO level-5 name,
   * every primary class is one of its substance's codes, every solution group member is a WHO name. A rule that names nothing real fails the build.
   */
  private atcRouteRules(atc: CodeSystem): AtcRouteRules {
    const file = this.routeRulesFile;
    let rules: AtcRouteRules;
    try {
      rules = JSON.parse(readFileSync(file, 'utf8')) as AtcRouteRules;
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
    const codes = new Set((atc.concept ?? []).map((c) => c.code));
    const level5 = new Map<string, string[]>();
    for (const c of atc.concept ?? []) {
      if (c.code.length !== 7) continue;
      for (const n of [c.display ?? '', ...(c.designation ?? []).map((d) => d.value)]) {
        const k = normaliseDrugName(n);
        level5.set(k, [...(level5.get(k) ?? []), c.code]);
      }
    }
    const problems: string[] = [];
    const routes = new Set(Object.keys(rules.routes));
    const checkRoutes = (where: string, list: string[] | undefined) => {
      for (const r of list ?? []) if (!routes.has(r)) problems.push(`${where}: unknown route ${r}`);
    };
    checkRoutes('systemicRoutes', rules.systemicRoutes);
    for (const r of rules.classRoutes) {
      if (!codes.has(r.atc)) problems.push(`classRoutes: ${r.atc} is not an ATC code`);
      checkRoutes(`classRoutes ${r.atc}`, r.routes);
    }
    for (const r of rules.substances) {
      if (!codes.has(r.atc)) problems.push(`substances ${r.ingredient}: ${r.atc} is not an ATC code`);
      if (!level5.has(normaliseDrugName(r.ingredient))) problems.push(`substances: ${r.ingredient} is not a WHO substance name`);
      checkRoutes(`substances ${r.ingredient}`, r.routes);
    }
    for (const r of rules.primary) {
      if (!(level5.get(normaliseDrugName(r.ingredient)) ?? []).includes(r.atc)) problems.push(`primary ${r.ingredient}: ${r.atc} is not one of its WHO codes`);
      checkRoutes(`primary ${r.ingredient}`, r.routes);
    }
    const comboIngredients = new Set(rules.combinationWords.flatMap((w) => (w.ingredients ?? []).map(normaliseDrugName)));
    for (const [from, to] of rules.synonyms) if (!level5.has(normaliseDrugName(to)) && !comboIngredients.has(normaliseDrugName(to))) problems.push(`synonyms ${from}: ${to} is not a WHO substance name`);
    for (const [group, names] of Object.entries(rules.solutionGroups)) {
      for (const n of names) if (!level5.has(normaliseDrugName(n))) problems.push(`solutionGroups ${group}: ${n} is not a WHO substance name`);
    }
    for (const r of rules.solutions) {
      if (!codes.has(r.atc)) problems.push(`solutions: ${r.atc} is not an ATC code`);
      for (const g of r.groups) if (!rules.solutionGroups[g]) problems.push(`solutions ${r.atc}: unknown group ${g}`);
      checkRoutes(`solutions ${r.atc}`, r.routes);
    }
    for (const t of rules.routeCodes) for (const [code, r] of Object.entries(t.codes)) if (!routes.has(r)) problems.push(`routeCodes ${t.system}|${code}: unknown route ${r}`);
    for (const [word, r] of rules.routeWords) if (!routes.has(r)) problems.push(`routeWords ${word}: unknown route ${r}`);
    if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
    return { ...rules, description: `${rules.description} Source: ${ROUTE_RULES_SOURCE} (sha256 ${sha256Hex(readFileSync(file)).slice(0, 12)}). ${WHO_ATC_NOTICE}` };
  }

  /**
   * Drug name → ATC3, most trusted first: the ETHOS MIMIC drug-name map (first-listed ATC per name),
   * WHO ATC level-5 names that fall in one ATC3 class, and Synthea ingredient names whose every
   * RxNorm product has the same classes.
   */
  private drugNameAtc3(level5Names: Map<string, Set<string>>) {
    const entries = new Map<string, { atc3: string[]; source: string }>();
    const rows = this.records('ethosDrugName', ['drug', 'atc_code']);
    for (const r of rows) {
      const key = normaliseDrugName(r.drug);
      const atc3 = atc3Of(r.atc_code);
      if (key === '' || !atc3 || entries.has(key) || NOT_A_DRUG.has(key)) continue;
      entries.set(key, { atc3: [atc3], source: SOURCE_ETHOS });
    }
    let who = 0;
    for (const [key, atc3] of [...level5Names].sort((a, b) => cmp(a[0], b[0]))) {
      if (key === '' || atc3.size !== 1 || entries.has(key)) continue;
      entries.set(key, { atc3: [...atc3], source: SOURCE_WHO });
      who++;
    }
    // MIMIC base-solution names the ETHOS map lacks, each an alias of a name it has (so no ATC code is invented here).
    for (const [alias, canonical] of NAME_ALIASES) {
      const target = entries.get(normaliseDrugName(canonical));
      if (!target) throw new Error(`drug-name alias ${alias}: canonical name ${canonical} is not in ${SHARED_INPUT.ethosDrugName}`);
      if (!entries.has(normaliseDrugName(alias))) entries.set(normaliseDrugName(alias), { atc3: target.atc3, source: SOURCE_ALIAS });
    }
    const ingredients = new Map<string, Set<string>>();
    const conflicting = new Set<string>();
    for (const r of this.records('syntheaRxnormAtc', ['ingredients', 'atc3'])) {
      const parts = r.ingredients.split(/\s*\/\s*|;/).filter((s) => s.trim() !== '');
      if (parts.length !== 1) continue;
      const key = normaliseDrugName(parts[0]);
      const set = uniqueSorted(r.atc3.split(';').map((c) => atc3Of(c)).filter(isString)).join(';');
      if (set === '') continue;
      const seen = ingredients.get(key);
      if (seen && ![...seen].includes(set)) conflicting.add(key);
      addTo(ingredients, key, set);
    }
    let syn = 0;
    for (const [key, sets] of [...ingredients].sort((a, b) => cmp(a[0], b[0]))) {
      if (conflicting.has(key) || entries.has(key)) continue;
      entries.set(key, { atc3: [...sets][0].split(';'), source: SOURCE_SYNTHEA });
      syn++;
    }
    // One group per source, in order of trust; no per-target comments (keeps the file small).
    const groupOf = (source: string): ConceptMapGroupElement[] =>
      [...entries.keys()].filter((k) => entries.get(k)?.source === source).sort(cmp).map((code) => ({
        code,
        target: (entries.get(code) as { atc3: string[] }).atc3.map((c) => ({ code: c, equivalence: 'wider' as Equivalence })),
      }));
    const extraGroups: ConceptMapGroup[] = [SOURCE_ALIAS, SOURCE_WHO, SOURCE_SYNTHEA].map((source) => ({
      source: MIMIC_SYSTEM.medicationName,
      target: SYSTEM.atc,
      element: groupOf(source),
    }));
    const map = this.conceptMap(
      'drugname-atc3',
      {
        title: 'Drug name (normalised) to ATC level 3: fallback when no code maps',
        description: `Normalised drug name (lower case, punctuation to spaces, whitespace collapsed; see normaliseDrugName in src/terminology/code-normalise.ts) to ATC level 3. Four groups, in order of trust: ${this.cite('ethosDrugName')} (MIMIC prescription drug names; the first-listed ATC code of a name is kept, later ones are alternative products; container names ${[...NOT_A_DRUG].join(', ')} are left out; ${ETHOS}), then ${NAME_ALIASES.length} project-made aliases of MIMIC base-solution and CRRT-fluid names to a name of that map (${NAME_ALIASES.map(([a, c]) => `${a} = ${c}`).join('; ')}), then ${who} WHO ATC level-5 names (${this.cite('ethosAtc')}) that fall in exactly one ATC3 class, then ${syn} single-ingredient names of ${this.cite('syntheaRxnormAtc')} (${SYNTHEA_MAPS}) whose products all share the same classes. Lookups also try the name with trailing words dropped.`,
        copyright: `Maps: MIT licence, (c) 2024 Pawel Renc (ETHOS); LEADER project (Synthea ingredients). ${WHO_ATC_NOTICE}`,
      },
      MIMIC_SYSTEM.medicationName,
      SYSTEM.atc,
      groupOf(SOURCE_ETHOS),
      extraGroups,
    );
    return { map, count: entries.size };
  }

  /** CMS GEM ICD-9-CM → ICD-10-CM with its flags (approximate, no map, combination, scenario, choice list). */
  private icd9cmIcd10cm() {
    const rows = this.records('ethosGem', ['icd_9', 'icd_10', 'flags']);
    const bySource = new Map<string, ConceptMapGroupElementTarget[]>();
    for (const r of rows) {
      const source = undotCode(r.icd_9);
      const flags = r.flags.trim();
      if (!/^[0-9A-Z]+$/.test(source) || !/^\d{5}$/.test(flags)) throw new Error(`${this.file(SHARED_INPUT.ethosGem)}: bad row ${JSON.stringify(r)}`);
      const [approximate, noMap, combination, scenario, choice] = flags.split('');
      const targets = bySource.get(source) ?? [];
      if (noMap === '1') {
        targets.push({ equivalence: 'unmatched', comment: 'GEM no map' });
      } else {
        const target: ConceptMapGroupElementTarget = { code: dotIcd10cm(r.icd_10), equivalence: approximate === '1' || combination === '1' ? 'inexact' : 'equivalent' };
        if (combination === '1') target.comment = `GEM combination, scenario ${scenario}, choice list ${choice}`;
        targets.push(target);
      }
      bySource.set(source, targets);
    }
    const elements = [...bySource.keys()].sort(cmp).map((code) => ({ code: dotIcd9Diagnosis(code), target: bySource.get(code) as ConceptMapGroupElementTarget[] }));
    const map = this.conceptMap(
      'icd9cm-icd10cm-gem',
      {
        title: 'ICD-9-CM diagnoses to ICD-10-CM (CMS General Equivalence Mappings)',
        description: `CMS General Equivalence Mappings (GEMs), ICD-9-CM diagnosis codes to ICD-10-CM, forward direction, from ${this.cite('ethosGem')} (copied by ${ETHOS}). Codes are dotted. Equivalence: 'equivalent' for GEM flag approximate=0, 'inexact' for approximate or combination entries (the comment gives the combination scenario and choice list), 'unmatched' for GEM no-map. The reverse lookup (ICD-10-CM -> ICD-9-CM) is this map read backwards, not the CMS backward GEM. LEADER keeps the coding's own system; this map is for users who need to convert.`,
        copyright: 'CMS General Equivalence Mappings: US government work, public domain. Redistributed in ETHOS (MIT licence, (c) 2024 Pawel Renc).',
      },
      SYSTEM.icd9cm,
      SYSTEM.icd10cm,
      elements,
    );
    return { map, count: elements.length };
  }

  private snomedIcd10cm() {
    const rows = this.records('syntheaSnomedIcd10cm', ['snomed_code', 'snomed_display', 'icd10cm', 'icd10cm_additional', 'icd10cm_title', 'status', 'note']);
    let mapped = 0;
    const elements: ConceptMapGroupElement[] = [...rows].sort((a, b) => cmp(a.snomed_code, b.snomed_code)).map((r) => {
      const main = r.icd10cm.trim();
      const targets: ConceptMapGroupElementTarget[] = [];
      if (r.status === 'mapped' && main !== '') {
        mapped++;
        targets.push({ code: dotIcd10cm(main), display: r.icd10cm_title || undefined, equivalence: 'relatedto', comment: r.note ? `main code, unreviewed; ${r.note}` : 'main code, unreviewed' });
        for (const extra of r.icd10cm_additional.split(/[;\s]+/).filter((s) => s !== '')) {
          targets.push({ code: dotIcd10cm(extra), equivalence: 'relatedto', comment: 'additional code, unreviewed' });
        }
      } else {
        targets.push({ equivalence: 'unmatched', comment: r.note ? `no_map: ${r.note}` : 'no_map' });
      }
      return { code: r.snomed_code.trim(), display: r.snomed_display, target: targets };
    });
    const map = this.conceptMap(
      'snomed-icd10cm-synthea-unreviewed',
      {
        title: 'SNOMED CT (Synthea condition codes) to ICD-10-CM: HAND-MADE, UNREVIEWED',
        description: `UNREVIEWED, HAND-MADE MAP: do not use clinically before review. SNOMED CT condition codes of the Synthea modules and the shared Synthea samples to ICD-10-CM (FY2021, billable), chosen by hand in the LEADER project from the SNOMED display and the Synthea module context, from ${this.cite('syntheaSnomedIcd10cm')}. Not derived from NLM's SNOMED CT to ICD-10-CM map. The first target is the main code; further targets are additional codes (e.g. BMI Z68.xx). 'unmatched' rows are deliberate no-maps (social findings, administrative situations). Source: ${SYNTHEA_MAPS}.`,
        copyright: 'ICD-10-CM codes and titles: CMS/NCHS, public domain. SNOMED CT codes and displays: SNOMED International, as published in Synthea (Apache-2.0). Mapping choices: LEADER project, draft.',
        status: 'draft',
        experimental: true,
      },
      SYSTEM.snomed,
      SYSTEM.icd10cm,
      elements,
    );
    return { map, count: mapped };
  }

  /** MIMIC-IV on FHIR local code systems → standard systems: the code is kept (dotted for ICD), only the system changes. */
  private mimicLocalSystems(): ConceptMap {
    const groups: Array<[string, string, string]> = [
      [MIMIC_SYSTEM.diagnosisIcd9, SYSTEM.icd9cm, 'ICD-9-CM diagnosis: insert a dot after 3 characters (4 for E codes): 4019 -> 401.9, E8490 -> E849.0.'],
      [MIMIC_SYSTEM.diagnosisIcd10, SYSTEM.icd10cm, 'ICD-10-CM: insert a dot after 3 characters when longer: E119 -> E11.9.'],
      [MIMIC_SYSTEM.procedureIcd9, SYSTEM.icd9cm, 'ICD-9-CM volume 3 procedure: insert a dot after 2 characters: 3893 -> 38.93.'],
      [MIMIC_SYSTEM.procedureIcd10, SYSTEM.icd10pcs, 'ICD-10-PCS: code unchanged (7 characters).'],
      [MIMIC_SYSTEM.medicationNdc, SYSTEM.ndc, 'NDC: 11-digit form kept.'],
    ];
    return {
      resourceType: 'ConceptMap',
      id: 'mimic-local-systems',
      url: `${MAPPING_URL_BASE}/ConceptMap/mimic-local-systems`,
      version: '1.0.0',
      name: 'MimicLocalSystems',
      title: 'MIMIC-IV on FHIR local code systems to standard code systems',
      status: 'active',
      experimental: false,
      publisher: PUBLISHER,
      description: 'The MIMIC-IV on FHIR (kind-lab/mimic-fhir) local code systems whose codes are standard codes written undotted: each group maps a local system to its standard system with the code as provided (group.unmapped.mode = provided) after the formatting in the group\'s comment. MIMIC GSN maps through the GSN ConceptMap, MIMIC drug names through the drug-name ConceptMap; formulary drug codes have no map.',
      copyright: 'System URIs only; no third-party content.',
      group: groups.map(([source, target, comment]) => ({ source, target, element: [], unmapped: { mode: 'provided' }, extension: [{ url: `${MAPPING_URL_BASE}/StructureDefinition/code-formatting`, valueString: comment }] })),
    } as ConceptMap;
  }

  private titles(): Array<{ file: string; content: CodeTitlesFile }> {
    const dx = this.records('mimicIvDiagnosisTitles', ['icd_code', 'icd_version', 'long_title']);
    const px = this.records('mimicIvProcedureTitles', ['icd_code', 'icd_version', 'long_title']);
    const order = this.records('ethosIcd10cmOrder', ['code', 'billable', 'short', 'long']);
    const icd9 = (rows: CsvRecord[]) => sortedPairs(rows.filter((r) => r.icd_version.trim() === '9').map((r) => [undotCode(r.icd_code), r.long_title.trim()]));
    const mimicNote = (rel: string) => `from \`${rel}\` (MIMIC-IV Clinical Database Demo v2.2, https://doi.org/10.13026/dp1f-ex47, Open Data Commons Open Database License v1.0, see LICENSE-mimic-iv-demo-ODbL-1.0.txt; this titles file is a derived database under ODbL: attribution and share-alike). The ICD-9-CM titles themselves are CMS/NCHS public-domain text that MIMIC redistributes.`;
    const dx9 = icd9(dx);
    const px9 = icd9(px);
    // Billable codes with CMS short titles keep the committed folder small (all codes with long titles: ~8 MB).
    const cm10 = sortedPairs(order.filter((r) => r.billable.trim() === '1').map((r) => [undotCode(r.code), (r.short || r.long).trim()]));
    const mk = (file: string, id: string, system: string, title: string, description: string, copyright: string, concept: Array<[string, string]>) => ({
      file,
      content: {
        resourceType: 'CodeTitles' as const,
        url: `${MAPPING_URL_BASE}/CodeTitles/${id}`,
        system,
        name: pascal(id),
        title,
        publisher: PUBLISHER,
        description,
        copyright,
        count: concept.length,
        concept,
      },
    });
    return [
      mk(MAPPING_FILE.titlesIcd9cmDiagnosis, 'icd9cm-diagnosis-titles', SYSTEM.icd9cm, 'ICD-9-CM diagnosis titles (long)',
        `ICD-9-CM diagnosis codes (undotted) and long titles ${mimicNote(SHARED_INPUT.mimicIvDiagnosisTitles)}`,
        'ODbL 1.0 (MIMIC-IV demo, PhysioNet); ICD-9-CM text: CMS/NCHS, public domain.', dx9),
      mk(MAPPING_FILE.titlesIcd9cmProcedure, 'icd9cm-procedure-titles', SYSTEM.icd9cm, 'ICD-9-CM volume 3 procedure titles (long)',
        `ICD-9-CM procedure codes (undotted) and long titles ${mimicNote(SHARED_INPUT.mimicIvProcedureTitles)}`,
        'ODbL 1.0 (MIMIC-IV demo, PhysioNet); ICD-9-CM text: CMS/NCHS, public domain.', px9),
      mk(MAPPING_FILE.titlesIcd10cm, 'icd10cm-titles', SYSTEM.icd10cm, 'ICD-10-CM titles (CMS short titles, FY2021)',
        `Every billable ICD-10-CM code (undotted) with its CMS short title, from the CMS/NCHS ICD-10-CM order file of January 2021, ${this.cite('ethosIcd10cmOrder')} (copied by ${ETHOS}). Billable codes with short titles, not all codes with long titles, keep the file under 4 MB instead of 8 MB; FHIR codings usually carry their own display.`,
        'ICD-10-CM: CMS/NCHS, US government work, public domain.', cm10),
    ];
  }

  private ddiPairs(): DdiPairsFile {
    const rows = this.records('gamenetDdi', ['atc3_a', 'atc3_b']);
    const seen = new Set<string>();
    const pairs: Array<[string, string]> = [];
    rows.forEach((r, i) => {
      const a = atc3Of(r.atc3_a);
      const b = atc3Of(r.atc3_b);
      if (!a || !b || a.length !== r.atc3_a.trim().length || b.length !== r.atc3_b.trim().length) {
        throw new Error(`${this.file(SHARED_INPUT.gamenetDdi)}: data row ${i + 1} is not a pair of ATC3 codes`);
      }
      const pair: [string, string] = a < b ? [a, b] : [b, a];
      const key = pair.join('|');
      if (a !== b && !seen.has(key)) { seen.add(key); pairs.push(pair); }
    });
    pairs.sort((x, y) => cmp(x[0], y[0]) || cmp(x[1], y[1]));
    return {
      resourceType: 'AtcInteractionPairs',
      url: `${MAPPING_URL_BASE}/AtcInteractionPairs/ddi-atc3-twosides-gamenet`,
      publisher: PUBLISHER,
      description: `Unordered pairs of interacting ATC level-3 classes (atc3_a < atc3_b), from ${this.cite('gamenetDdi')}: the upper triangle of GAMENet's ddi_A_final.pkl, built by GAMENet from TWOSIDES (Tatonetti et al., Sci Transl Med 2012) restricted to a subset of side-effect types and mapped CID -> ATC3; used for the DDI-rate metric of SafeDrug/LEADER. Source: ${GAMENET}. Class-level data from full MIMIC-III drug classes; no patient data.`,
      copyright: `Pairs: MIT licence, (c) 2018 Junyuan Shang (GAMENet); TWOSIDES is public. ${WHO_ATC_NOTICE}`,
      count: pairs.length,
      pairs,
    };
  }

  private provenance(counts: Record<string, number>): string {
    const lines = [
      '# fhir-mappings: terminology for the LEADER CDS service',
      '',
      'Generated by `npm run mappings` (`leader build-mappings --shared ../shared/data --out fhir-mappings`); do not edit by hand.',
      'The build is deterministic: rerunning it on the same inputs gives byte-identical files (checked by',
      '`src/terminology/build/mappings.builder.spec.ts`). `index.json` lists every file with its sha256.',
      'Each ConceptMap names its source file, source repository, licence and copyright in `description` and `copyright`.',
      '',
      '| file | entries | what |',
      '|---|---|---|',
      ...Object.entries(counts).sort((a, b) => cmp(a[0], b[0])).map(([file, n]) => `| ${file} | ${n} | ${WHAT[file] ?? ''} |`),
      '',
      '## Inputs (paths relative to the shared data folder)',
      '',
      '| file | sha256 |',
      '|---|---|',
      ...[...this.sha.entries()].sort((a, b) => cmp(a[0], b[0])).map(([file, digest]) => `| ${file} | ${digest} |`),
      '',
      '## Licences and attribution',
      '',
      '- GAMENet (NDC -> RXCUI, DDI pairs): MIT, `LICENSE-gamenet-MIT.txt`. MoleRec (NDC -> ATC3): MIT, `LICENSE-molerec-MIT.txt`.',
      '- ETHOS (ATC names, GSN -> ATC, MIMIC drug name -> ATC, GEMs copy, ICD-10-CM order file copy): MIT, `LICENSE-ethos-MIT.txt`.',
      '  GEMs and the ICD-10-CM order file are CMS/NCHS public-domain works.',
      '- ATC codes and names: (c) WHO Collaborating Centre for Drug Statistics Methodology; attribution required, no commercial redistribution.',
      '- Synthea RxNorm -> ATC3 and SNOMED CT -> ICD-10-CM maps: made by hand in this project from Synthea codes (Apache-2.0,',
      '  `LICENSE-synthea-module-builder-Apache-2.0.txt`). **The SNOMED CT -> ICD-10-CM map is unreviewed** (ConceptMap status `draft`, experimental).',
      '- ICD-9-CM titles come from the MIMIC-IV Clinical Database Demo v2.2 `d_icd_*` tables (PhysioNet, ODbL 1.0,',
      '  `LICENSE-mimic-iv-demo-ODbL-1.0.txt`): the two `titles-icd9cm-*.json` files are derived databases under ODbL (attribution,',
      '  share-alike). Cite: Johnson A, Bulgarelli L, Pollard T, Horng S, Celi LA, Mark R. MIMIC-IV Clinical Database Demo (v2.2). PhysioNet, 2023.',
      `- Route rules (\`${MAPPING_FILE.atcRouteRules}\`): made in this project from the WHO ATC index and the WHO Guidelines for ATC`,
      `  classification (source \`${ROUTE_RULES_SOURCE}\`, checked against the ATC code system at build time); ATC codes (c) WHO as above.`,
      '',
      '## Not included',
      '',
      '- ICD-9-CM <-> ICD-10-PCS procedure GEMs (75k rows) and ICD-10-PCS titles (81k codes, ~7 MB): too large for the committed folder;',
      '  procedure codes keep their own system (`icd9pcs:`, `icd10pcs:` tokens) and FHIR codings carry their display.',
      '- ICD-10-CM long titles and the titles of non-billable headers (~8 MB): the CMS short titles of billable codes are kept instead.',
      '',
    ];
    return lines.join('\n');
  }
}

const SOURCE_ETHOS = 'ethos';
const SOURCE_WHO = 'who-atc5-name';
const SOURCE_SYNTHEA = 'synthea-ingredient';
const SOURCE_ALIAS = 'project-alias';

/** Container names the ETHOS map gives a class (syringe → insulin), which would class "Syringe (0.9% Sodium Chloride)" wrongly. */
const NOT_A_DRUG = new Set(['syringe', 'bag', 'vial', 'soln', 'solution']);

/** Project-made aliases: MIMIC drug names (base solutions, CRRT fluids) → a name of the ETHOS map with the same ATC3 class. */
const NAME_ALIASES: ReadonlyArray<readonly [string, string]> = [
  ['Iso-Osmotic Dextrose', 'Dextrose 5%'],
  ['Iso-Osmotic Sodium Chloride', 'Sodium Chloride 0.9%'],
  ['Isotonic Sodium Chloride', 'Sodium Chloride 0.9%'],
  ['0.83% Sodium Chloride', 'Sodium Chloride 0.9%'],
  ['Prismasate', 'PrismaSol  (B32 K0)'],
  ['Normocarb', 'PrismaSol  (B32 K0)'],
];

const WHAT: Record<string, string> = {
  [MAPPING_FILE.ndcAtc3]: 'ConceptMap NDC -> ATC3 (MoleRec)',
  [MAPPING_FILE.ndcRxnorm]: 'ConceptMap NDC -> RxNorm (GAMENet)',
  [MAPPING_FILE.rxnormAtc3Synthea]: 'ConceptMap RxNorm -> ATC3 (Synthea RXCUIs, project-made)',
  [MAPPING_FILE.rxnormAtc3ViaNdc]: 'ConceptMap RxNorm -> ATC3 (derived: GAMENet NDC->RXCUI joined with MoleRec NDC->ATC3)',
  [MAPPING_FILE.gsnAtc3]: 'ConceptMap GSN -> ATC3 (ETHOS)',
  [MAPPING_FILE.drugNameAtc3]: 'ConceptMap drug name -> ATC3 (fallback; ETHOS, WHO names, Synthea ingredients)',
  [MAPPING_FILE.icd9cmIcd10cm]: 'ConceptMap ICD-9-CM -> ICD-10-CM (CMS GEMs)',
  [MAPPING_FILE.snomedIcd10cm]: 'ConceptMap SNOMED CT -> ICD-10-CM (hand-made, UNREVIEWED, draft)',
  [MAPPING_FILE.mimicLocalSystems]: 'ConceptMap MIMIC local systems -> standard systems (groups)',
  [MAPPING_FILE.atcCodeSystem]: 'CodeSystem ATC names, all levels (WHO)',
  [MAPPING_FILE.titlesIcd9cmDiagnosis]: 'ICD-9-CM diagnosis titles (MIMIC-IV demo, ODbL)',
  [MAPPING_FILE.titlesIcd9cmProcedure]: 'ICD-9-CM procedure titles (MIMIC-IV demo, ODbL)',
  [MAPPING_FILE.titlesIcd10cm]: 'ICD-10-CM short titles (CMS order file)',
  [MAPPING_FILE.ddiAtc3Pairs]: 'Interacting ATC3 pairs (GAMENet / TWOSIDES)',
  [MAPPING_FILE.atcRouteRules]: 'Route, form and strength rules choosing among ATC codes (project-made, WHO index)',
};

function kindOf(file: string): string {
  if (file.startsWith('conceptmap-')) return 'ConceptMap';
  if (file.startsWith('codesystem-')) return 'CodeSystem';
  if (file.startsWith('titles-')) return 'CodeTitles';
  if (file.startsWith('ddi-')) return 'AtcInteractionPairs';
  if (file.startsWith('LICENSE')) return 'licence';
  return 'documentation';
}


function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function uniqueSorted(values: string[]): string[] {
  return [...new Set(values)].sort(cmp);
}

function isString(v: string | undefined): v is string {
  return typeof v === 'string';
}

function sortedElements(pairs: Map<string, Set<string>>, equivalence: Equivalence): ConceptMapGroupElement[] {
  return [...pairs.keys()].sort(cmp).map((code) => ({ code, target: uniqueSorted([...(pairs.get(code) as Set<string>)]).map((t) => ({ code: t, equivalence })) }));
}

function sortedPairs(entries: Array<[string, string]>): Array<[string, string]> {
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  for (const [k, v] of [...entries].sort((a, b) => cmp(a[0], b[0]))) {
    if (k === '' || v === '' || seen.has(k)) continue;
    seen.add(k);
    out.push([k, v]);
  }
  return out;
}

function pascal(id: string): string {
  return id.split(/[^a-zA-Z0-9]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}

