import { createHash } from 'node:crypto';
import type { PatientTimeline } from '../../timeline/timeline.types';
import { TOKEN_PREFIX } from '../../terminology/code-systems';
import { PAD_ID, PROFILE_FIELDS } from './student-input.types';
import { profileValuesOf, studentWindowStart } from './student-sample';
import { isRecord } from '../../common/is-record';
import { compareStrings } from '../../common/compare-strings';

/**
 * The JSON shape of vocab.json, the one declaration (training's DatasetVocab and inference's
 * ModelVocab name it). Token layout, an invariant readers may rely on:
 *   tokens[0] = '[PAD]'; tokens[1 + i] = 'atc3:' + labels[i] (the medication tokens, label order);
 *   then diagnosis and procedure tokens (namespaced, e.g. `icd10cm:E11.9`), sorted.
 * So the medication-history token of label i is i + 1 (LEADER's unified vocabulary, leader.md §4.1,
 * without [CLS]/[MASK], which the student never uses).
 */
export interface VocabularyJson {
  /** Token id = index. Diagnosis / procedure tokens are namespaced (`icd10cm:E11.9`). */
  tokens: string[];
  /** Label space: ATC3 codes, label index = position. */
  labels: string[];
  /** ATC3 → WHO class name (lower case), for prompts and cards. */
  labelNames: Record<string, string>;
  /** Profile field names in tensor order, and per field its values (index 0 = '<unk>'). */
  profileFields: string[];
  profileValues: Record<string, string[]>;
}

export const PAD_TOKEN = '[PAD]';
export const UNKNOWN_PROFILE_VALUE = '<unk>';

/** What the vocabulary is learnt from: one training sample (the visits its student window sees). */
export interface VocabularyEntry {
  timeline: PatientTimeline;
  targetVisitIndex: number;
}

export interface VocabularyBuildOptions {
  /** Student window (visits the student sees, target included). */
  maxVisits: number;
  /** Keep only the N most frequent ATC3 classes (by number of distinct training visits that order them); null = all. */
  topMeds?: number | null;
  /** WHO name of an ATC3 class, stored as labelNames (classes without a name are left out of labelNames). */
  atc3Name?: (atc3: string) => string | undefined;
}

/** Token, label (ATC3) and profile-value lookups shared by the dataset writer, the trainer (via vocab.json) and serving. */
export class Vocabulary {
  private readonly tokenIds: ReadonlyMap<string, number>;
  private readonly labelIds: ReadonlyMap<string, number>;
  private readonly profileIds: ReadonlyMap<string, ReadonlyMap<string, number>>;

  private constructor(private readonly json: VocabularyJson) {
    this.tokenIds = indexOf(json.tokens);
    this.labelIds = indexOf(json.labels);
    this.profileIds = new Map(json.profileFields.map((f) => [f, indexOf(json.profileValues[f])]));
  }

  /** Learn tokens, labels and profile values from training samples only (val/test codes unseen in train drop out). */
  static build(entries: Iterable<VocabularyEntry>, options: VocabularyBuildOptions): Vocabulary {
    const { maxVisits, topMeds = null, atc3Name } = options;
    if (!Number.isInteger(maxVisits) || maxVisits < 1) throw new RangeError(`Vocabulary.build: maxVisits must be a positive integer, got ${maxVisits}`);
    if (topMeds !== null && (!Number.isInteger(topMeds) || topMeds < 1)) throw new RangeError(`Vocabulary.build: topMeds must be a positive integer, got ${topMeds}`);
    const codeTokens = new Set<string>();
    const visitsCounted = new Set<string>();
    const labelFrequency = new Map<string, number>();
    const profileSeen = new Map<string, Set<string>>(PROFILE_FIELDS.map((f) => [f, new Set<string>()]));
    for (const { timeline, targetVisitIndex } of entries) {
      for (let v = studentWindowStart(targetVisitIndex, maxVisits); v <= targetVisitIndex; v++) {
        const visit = timeline.visits[v];
        for (const code of visit.diagnoses) codeTokens.add(code.token);
        for (const code of visit.procedures) codeTokens.add(code.token);
        // Per-visit samples overlap: count each (patient, visit) once for the top-N ranking.
        const visitKey = `${timeline.patientRef}\u0000${v}`;
        if (visitsCounted.has(visitKey)) continue;
        visitsCounted.add(visitKey);
        for (const atc3 of new Set(visit.medications.flatMap((m) => m.atc3))) labelFrequency.set(atc3, (labelFrequency.get(atc3) ?? 0) + 1);
      }
      const profile = profileValuesOf(timeline, targetVisitIndex);
      for (const field of PROFILE_FIELDS) {
        const value = profile[field];
        if (value !== undefined && value !== UNKNOWN_PROFILE_VALUE) profileSeen.get(field)!.add(value);
      }
    }
    let labels = [...labelFrequency.keys()];
    if (topMeds !== null) {
      labels = labels.sort((a, b) => labelFrequency.get(b)! - labelFrequency.get(a)! || compareStrings(a, b)).slice(0, topMeds);
    }
    labels.sort(compareStrings);
    const labelNames: Record<string, string> = {};
    for (const atc3 of labels) {
      const name = atc3Name?.(atc3)?.trim();
      if (name) labelNames[atc3] = name.toLowerCase();
    }
    const medTokens = labels.map(medicationToken);
    const medTokenSet = new Set(medTokens);
    const tokens = [PAD_TOKEN, ...medTokens, ...[...codeTokens].filter((t) => !medTokenSet.has(t) && t !== PAD_TOKEN).sort(compareStrings)];
    const profileValues: Record<string, string[]> = {};
    for (const field of PROFILE_FIELDS) profileValues[field] = [UNKNOWN_PROFILE_VALUE, ...[...profileSeen.get(field)!].sort(compareStrings)];
    return new Vocabulary({ tokens, labels, labelNames, profileFields: [...PROFILE_FIELDS], profileValues });
  }

  /** Parse and check a vocab.json value; `origin` names the file in error messages. */
  static fromJSON(value: unknown, origin = 'vocab.json'): Vocabulary {
    const fail = (what: string): never => {
      throw new VocabularyError(`${origin}: ${what}`);
    };
    if (!isRecord(value)) return fail('not a JSON object');
    const { tokens, labels, labelNames, profileFields, profileValues } = value;
    if (!isStringArray(tokens) || tokens.length === 0) return fail('"tokens" must be a non-empty array of strings');
    if (!isStringArray(labels)) return fail('"labels" must be an array of strings');
    if (!isRecord(labelNames) || Object.entries(labelNames).some(([k, v]) => typeof v !== 'string' || !labels.includes(k))) {
      return fail('"labelNames" must map label codes to strings');
    }
    if (!isStringArray(profileFields)) return fail('"profileFields" must be an array of strings');
    if (!isRecord(profileValues)) return fail('"profileValues" must be an object');
    if (tokens[PAD_ID] !== PAD_TOKEN) return fail(`tokens[0] must be "${PAD_TOKEN}"`);
    assertUnique(tokens, 'tokens', fail);
    assertUnique(labels, 'labels', fail);
    labels.forEach((atc3, i) => {
      if (tokens[i + 1] !== medicationToken(atc3)) fail(`tokens[${i + 1}] must be "${medicationToken(atc3)}" (medication token of label ${i})`);
    });
    for (const field of profileFields) {
      const values = profileValues[field];
      if (!isStringArray(values) || values[0] !== UNKNOWN_PROFILE_VALUE) fail(`profileValues.${field} must be an array of strings starting with "${UNKNOWN_PROFILE_VALUE}"`);
      assertUnique(values as string[], `profileValues.${field}`, fail);
    }
    const extra = Object.keys(profileValues).filter((f) => !profileFields.includes(f));
    if (extra.length) fail(`profileValues has fields not in profileFields: ${extra.join(', ')}`);
    return new Vocabulary({
      tokens: [...tokens],
      labels: [...labels],
      labelNames: { ...(labelNames as Record<string, string>) },
      profileFields: [...profileFields],
      profileValues: Object.fromEntries(profileFields.map((f) => [f, [...(profileValues[f] as string[])]])),
    });
  }

  get tokens(): readonly string[] { return this.json.tokens; }
  get labels(): readonly string[] { return this.json.labels; }
  get labelNames(): Readonly<Record<string, string>> { return this.json.labelNames; }
  get profileFields(): readonly string[] { return this.json.profileFields; }
  profileValues(field: string): readonly string[] { return this.json.profileValues[field] ?? [UNKNOWN_PROFILE_VALUE]; }

  /** Id of a diagnosis / procedure / medication token, undefined when unseen in training. */
  tokenId(token: string): number | undefined { return this.tokenIds.get(token); }
  /** Label index of an ATC3 class, undefined when outside the label space. */
  labelIndex(atc3: string): number | undefined { return this.labelIds.get(atc3); }
  /** Token id of label `labelIndex` in the medication history (always labelIndex + 1). */
  medicationTokenId(labelIndex: number): number {
    if (!Number.isInteger(labelIndex) || labelIndex < 0 || labelIndex >= this.json.labels.length) throw new RangeError(`label index ${labelIndex} outside 0..${this.json.labels.length - 1}`);
    return labelIndex + 1;
  }
  /** Id of a profile value within its field (0 = unknown: absent, or unseen in training). */
  profileId(field: string, value: string | undefined): number {
    if (value === undefined) return 0;
    return this.profileIds.get(field)?.get(value) ?? 0;
  }

  toJSON(): VocabularyJson {
    return {
      tokens: [...this.json.tokens],
      labels: [...this.json.labels],
      labelNames: Object.fromEntries(Object.keys(this.json.labelNames).sort(compareStrings).map((k) => [k, this.json.labelNames[k]])),
      profileFields: [...this.json.profileFields],
      profileValues: Object.fromEntries(this.json.profileFields.map((f) => [f, [...this.json.profileValues[f]]])),
    };
  }

  /** The canonical vocab.json bytes (2-space JSON, fixed key order, trailing newline). */
  serialize(): string {
    return `${JSON.stringify(this.toJSON(), null, 2)}\n`;
  }

  /** sha256 (hex) of the canonical vocab.json bytes: the dataset's and the model's `vocabHash`. */
  hash(): string {
    return createHash('sha256').update(this.serialize(), 'utf8').digest('hex');
  }
}

export class VocabularyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VocabularyError';
  }
}

/** The medication token of an ATC3 class (`atc3:N02B`). */
export function medicationToken(atc3: string): string {
  return `${TOKEN_PREFIX.atc3}:${atc3}`;
}


function indexOf(values: readonly string[]): Map<string, number> {
  return new Map(values.map((v, i) => [v, i]));
}function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
function assertUnique(values: readonly string[], what: string, fail: (what: string) => never): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) fail(`${what} has the duplicate "${v}"`);
    seen.add(v);
  }
}
