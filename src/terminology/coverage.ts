import type { CodeableConcept, Coding, Medication, Resource } from 'fhir/r4';
import { TOKEN_PREFIX } from './code-systems';
import { resolveMedication, type MedicationConcept, type MedicationProduct, type MedicationUse, type ResolvedMedication } from './medication-resolver';
import type { TerminologyLookup } from './terminology.types';

/** Pseudo-systems in the report: a concept's text (drug name fallback), a reference that did not resolve, a concept with no coding. */
export const TEXT_SYSTEM = '(text)';
export const UNRESOLVED_SYSTEM = '(unresolved medicationReference)';

export interface CoverageCount {
  /** Rows (resources, or codings of this system) seen. */
  rows: number;
  /** Rows with at least one mapped coding. */
  rowsMapped: number;
  /** Distinct codes (per system) or distinct concepts (per resource type). */
  distinct: number;
  distinctMapped: number;
  /** Most frequent unmapped codes, by rows. Codes and names of drugs only, never patient data. */
  topUnmapped: Array<{ code: string; rows: number }>;
}

export interface ResourceCoverage extends CoverageCount {
  /** Per code system of the codings (and TEXT_SYSTEM for names). */
  systems: Record<string, CoverageCount>;
}

export interface CoverageReport {
  /** Per resource type: Condition, Procedure, MedicationRequest, Medication, ... */
  resourceTypes: Record<string, ResourceCoverage>;
  /** Medication uses (not Medication resources) by the rule that chose their classes (`not-assessed` when none). */
  medicationRules: Record<string, number>;
  /** Drugs whose classes differ from the route-blind first-listed classing, by rows (only when the terminology offers that baseline). */
  labelChanges: LabelChange[];
}

/** A drug (by name and route) whose classes changed against the first-listed, route-blind classing. */
export interface LabelChange {
  drug: string;
  route?: string;
  before: string[];
  after: string[];
  rule: string;
  rows: number;
}

/** The classing the coverage report needs; `firstListedAtc3` (Terminology has it) adds the label changes. */
export type CoverageTerminology = TerminologyLookup & { firstListedAtc3?(product: MedicationProduct): string[] };

/** What "mapped" means: medications → ≥1 ATC3 class; diagnoses/procedures → an ICD token of LEADER's vocabulary (SNOMED without a map stays `sct:`, counted unmapped). */
const MAPPED_CODE_PREFIXES = new Set<string>([TOKEN_PREFIX.icd9cm, TOKEN_PREFIX.icd10cm, TOKEN_PREFIX.icd9pcs, TOKEN_PREFIX.icd10pcs]);
const MEDICATION_USE_TYPES = new Set(['MedicationRequest', 'MedicationAdministration', 'MedicationStatement', 'MedicationDispense']);

/** Tallies for one row set (a resource type, or one system within it). */
class Tally {
  rows = 0;
  rowsMapped = 0;
  private readonly distinct = new Map<string, boolean>();
  private readonly unmapped = new Map<string, number>();

  add(key: string, mapped: boolean, times = 1): void {
    this.rows += times;
    if (mapped) this.rowsMapped += times;
    this.distinct.set(key, (this.distinct.get(key) ?? false) || mapped);
    if (!mapped) this.unmapped.set(key, (this.unmapped.get(key) ?? 0) + times);
  }

  result(top: number): CoverageCount {
    return {
      rows: this.rows,
      rowsMapped: this.rowsMapped,
      distinct: this.distinct.size,
      distinctMapped: [...this.distinct.values()].filter(Boolean).length,
      topUnmapped: [...this.unmapped.entries()]
        .filter(([key]) => this.distinct.get(key) === false)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, top)
        .map(([code, rows]) => ({ code, rows })),
    };
  }
}

class TypeTally extends Tally {
  readonly systems = new Map<string, Tally>();
  system(name: string): Tally {
    let t = this.systems.get(name);
    if (!t) this.systems.set(name, (t = new Tally()));
    return t;
  }
}

/**
 * Coverage of the terminology over a stream of FHIR resources: per resource type and per code
 * system, the share of rows with a mapped coding and of distinct codes mapped, and the most frequent
 * unmapped codes. MedicationRequest (and other medication uses) with `medicationReference` resolve
 * the Medication from the same stream; Medications are kept, requests only counted by reference.
 */
export async function computeCoverage(resources: AsyncIterable<Resource> | Iterable<Resource>, terminology: CoverageTerminology, top = 10): Promise<CoverageReport> {
  const types = new Map<string, TypeTally>();
  const tally = (type: string) => {
    let t = types.get(type);
    if (!t) types.set(type, (t = new TypeTally()));
    return t;
  };
  const medications = new Map<string, Medication>();
  /** Uses that reference a Medication by id, counted by what decides their classing (reference, route, strength text). */
  const deferred = new Map<string, { type: string; use: MedicationUse; times: number }>();
  const rules = new Map<string, number>();
  const changes = new Map<string, LabelChange>();

  const countMedication = (type: string, resolved: ResolvedMedication, times: number) => {
    const t = tally(type);
    if (!resolved.resolved) {
      t.system(UNRESOLVED_SYSTEM).add('(missing Medication)', false, times);
      t.add(UNRESOLVED_SYSTEM, false, times);
      if (type !== 'Medication') rules.set('not-assessed', (rules.get('not-assessed') ?? 0) + times);
      return;
    }
    const classes = terminology.classifyMedication(resolved);
    const perSystem = new Map<string, { system: string; code: string; mapped: boolean }>();
    const alone = (part: MedicationConcept) => terminology.classifyMedication({ ...resolved, parts: [part] }).atc3.length > 0;
    for (const concept of resolved.parts) {
      for (const coding of concept.codings) {
        const system = coding.system ?? '(no system)';
        perSystem.set(`${system}|${coding.code}`, { system, code: (coding.code as string).trim(), mapped: alone({ codings: [coding] }) });
      }
      if (concept.text) perSystem.set(`${TEXT_SYSTEM}|${concept.text}`, { system: TEXT_SYSTEM, code: concept.text.trim(), mapped: alone({ codings: [], text: concept.text }) });
    }
    for (const { system, code, mapped } of perSystem.values()) t.system(system).add(code, mapped, times);
    t.add(conceptKey(resolved.parts), classes.atc3.length > 0, times);
    if (type === 'Medication') return;
    rules.set(classes.rule, (rules.get(classes.rule) ?? 0) + times);
    const before = terminology.firstListedAtc3?.(resolved);
    if (before && before.join(' ') !== classes.atc3.join(' ')) {
      const drug = resolved.display ?? conceptKey(resolved.parts);
      const key = `${drug}|${classes.route ?? ''}|${before.join(' ')}|${classes.atc3.join(' ')}`;
      const change = changes.get(key);
      if (change) change.rows += times;
      else changes.set(key, { drug, ...(classes.route ? { route: classes.route } : {}), before, after: classes.atc3, rule: classes.rule, rows: times });
    }
  };

  const countCode = (type: string, cc: CodeableConcept | undefined, map: (c: Coding) => { token: string } | undefined) => {
    const t = tally(type);
    const codings = (cc?.coding ?? []).filter((c) => c.code);
    let anyMapped = false;
    const seen = new Set<string>();
    for (const coding of codings) {
      const key = `${coding.system ?? ''}|${coding.code}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const token = map(coding)?.token;
      const mapped = token !== undefined && MAPPED_CODE_PREFIXES.has(token.slice(0, token.indexOf(':')));
      anyMapped ||= mapped;
      t.system(coding.system ?? '(no system)').add((coding.code as string).trim(), mapped);
    }
    if (codings.length === 0 && cc?.text) t.system(TEXT_SYSTEM).add(cc.text.trim(), false);
    t.add(codings.length > 0 ? [...seen].sort().join(' ') : `${TEXT_SYSTEM}|${cc?.text ?? ''}`, anyMapped);
  };

  const noLookup = () => undefined;
  for await (const resource of resources as AsyncIterable<Resource>) {
    switch (resource.resourceType) {
      case 'Condition':
        countCode('Condition', (resource as { code?: CodeableConcept }).code, (c) => terminology.diagnosis(c));
        break;
      case 'Procedure':
        countCode('Procedure', (resource as { code?: CodeableConcept }).code, (c) => terminology.procedure(c));
        break;
      case 'Medication': {
        const med = resource as Medication;
        if (med.id) medications.set(med.id, med);
        break;
      }
      default:
        if (MEDICATION_USE_TYPES.has(resource.resourceType)) {
          const use = resource as MedicationUse & Resource;
          const inline = use.medicationCodeableConcept || use.medicationReference?.reference?.trim().startsWith('#');
          if (inline) countMedication(resource.resourceType, resolveMedication(use, noLookup), 1);
          else {
            // Medications may come later in the stream: keep what decides the classing, counted.
            const dosage = Array.isArray(use.dosageInstruction) ? use.dosageInstruction[0] : Array.isArray(use.dosage) ? use.dosage[0] : use.dosage;
            const kept: MedicationUse = { medicationReference: use.medicationReference, ...(dosage ? { dosageInstruction: [{ route: dosage.route, text: dosage.text }] } : {}) };
            const key = `${resource.resourceType}|${JSON.stringify(kept)}`;
            const seen = deferred.get(key);
            if (seen) seen.times++;
            else deferred.set(key, { type: resource.resourceType, use: kept, times: 1 });
          }
        }
    }
  }

  const lookup = (id: string) => medications.get(id);
  for (const med of [...medications.values()]) countMedication('Medication', resolveMedication({ medicationReference: { reference: `Medication/${med.id}` } }, lookup), 1);
  for (const { type, use, times } of deferred.values()) countMedication(type, resolveMedication(use, lookup), times);

  const report: CoverageReport = { resourceTypes: {}, medicationRules: {}, labelChanges: [] };
  for (const type of [...types.keys()].sort()) {
    const t = types.get(type) as TypeTally;
    const systems: Record<string, CoverageCount> = {};
    for (const name of [...t.systems.keys()].sort()) systems[name] = (t.systems.get(name) as Tally).result(top);
    report.resourceTypes[type] = { ...t.result(top), systems };
  }
  for (const rule of [...rules.keys()].sort()) report.medicationRules[rule] = rules.get(rule) as number;
  report.labelChanges = [...changes.values()].sort((a, b) => b.rows - a.rows || (a.drug < b.drug ? -1 : a.drug > b.drug ? 1 : 0));
  return report;
}

function conceptKey(concepts: MedicationConcept[]): string {
  return concepts
    .map((c) => (c.codings.length > 0 ? c.codings.map((x) => `${x.system}|${x.code}`).sort().join(' ') : `${TEXT_SYSTEM}|${c.text ?? ''}`))
    .sort()
    .join(' + ');
}

/** One product of a product list: a name (RxNorm normalised, or free text) and, when known, the classes expected. */
export interface ListedProduct {
  name: string;
  expected?: string[];
}

/** Coverage of a product list: how many get a class, and how many get exactly the expected classes. */
export interface ProductListCoverage {
  products: number;
  assessed: number;
  withExpected: number;
  asExpected: number;
  /** Products that got no class or other classes than expected. */
  misses: Array<{ name: string; expected?: string[]; got: string[]; rule: string }>;
}

/** Classes every product of a list by its name alone (no code, no route but what the name says). */
export function productListCoverage(products: ListedProduct[], terminology: TerminologyLookup): ProductListCoverage {
  const out: ProductListCoverage = { products: products.length, assessed: 0, withExpected: 0, asExpected: 0, misses: [] };
  for (const p of products) {
    const classes = terminology.classifyMedication({ parts: [{ codings: [], text: p.name }] });
    if (classes.atc3.length > 0) out.assessed++;
    const ok = p.expected ? classes.atc3.join(';') === [...p.expected].sort().join(';') : classes.atc3.length > 0;
    if (p.expected) {
      out.withExpected++;
      if (ok) out.asExpected++;
    }
    if (!ok) out.misses.push({ name: p.name, ...(p.expected ? { expected: p.expected } : {}), got: classes.atc3, rule: classes.rule });
  }
  return out;
}

/** A product list file: one product a line, `name` or `name<TAB>ATC3[;ATC3]<TAB>note`; `#` comments and a `name` header line are skipped. */
export function parseProductList(text: string, file: string): ListedProduct[] {
  const out: ListedProduct[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#') || /^name(\t|$)/.test(line)) return;
    const [name, expected] = line.split('\t');
    if (!name.trim()) throw new Error(`${file}:${i + 1}: no product name`);
    const codes = (expected ?? '').split(';').map((c) => c.trim().toUpperCase()).filter((c) => c !== '');
    const bad = codes.find((c) => !/^[A-Z]\d\d[A-Z]$/.test(c));
    if (bad) throw new Error(`${file}:${i + 1}: ${bad} is not an ATC level-3 code`);
    out.push(codes.length > 0 ? { name: name.trim(), expected: codes } : { name: name.trim() });
  });
  return out;
}

/** Percentage with one decimal, for printing. */
export function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`;
}

/** The report as plain text lines (what `leader terminology-coverage` prints without --json). */
export function formatCoverage(report: CoverageReport, top = 25): string[] {
  const lines: string[] = [];
  for (const [type, t] of Object.entries(report.resourceTypes)) {
    lines.push(`${type}: rows mapped ${t.rowsMapped}/${t.rows} (${percent(t.rowsMapped, t.rows)}), distinct concepts mapped ${t.distinctMapped}/${t.distinct} (${percent(t.distinctMapped, t.distinct)})`);
    for (const [system, s] of Object.entries(t.systems)) {
      lines.push(`  ${system}: rows ${s.rowsMapped}/${s.rows} (${percent(s.rowsMapped, s.rows)}), distinct codes ${s.distinctMapped}/${s.distinct} (${percent(s.distinctMapped, s.distinct)})`);
      if (s.topUnmapped.length > 0) lines.push(`    top unmapped: ${s.topUnmapped.map((u) => `${u.code} (${u.rows})`).join(', ')}`);
    }
  }
  const uses = Object.values(report.medicationRules).reduce((a, b) => a + b, 0);
  if (uses > 0) lines.push(`medication uses by the rule that chose their classes: ${Object.entries(report.medicationRules).map(([rule, n]) => `${rule} ${n} (${percent(n, uses)})`).join(', ')}`);
  if (report.labelChanges.length > 0) {
    const rows = report.labelChanges.reduce((a, c) => a + c.rows, 0);
    lines.push(`label changes against the first-listed, route-blind classing: ${report.labelChanges.length} drugs, ${rows} rows`);
    for (const c of report.labelChanges.slice(0, top)) {
      lines.push(`  ${c.drug}${c.route ? ` [${c.route}]` : ''}: ${c.before.join(',') || '-'} -> ${c.after.join(',') || '-'} (${c.rule}), ${c.rows} rows`);
    }
  }
  return lines;
}
