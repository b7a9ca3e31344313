import type { MimicDataset } from './mimic-layout';
import { NAMESPACE_OID, UuidV5, uuidV5 } from './uuid-v5';

export type MimicResourceType = 'Patient' | 'Encounter' | 'Condition' | 'Procedure' | 'Medication' | 'MedicationRequest';
export const MIMIC_RESOURCE_TYPES: readonly MimicResourceType[] = ['Patient', 'Encounter', 'Condition', 'Procedure', 'Medication', 'MedicationRequest'];

/**
 * Deterministic resource ids as MIMIC-IV on FHIR makes them (sql/fhir_etl/uuid_namespace.sql):
 * uuid_v5(uuid_v5(uuid_v5(NS_OID, dataset), resourceType), sourceKey). Same input → same ids, so a
 * rerun or a second load into a FHIR server updates in place instead of duplicating.
 */
export class MimicIds {
  private readonly generators: Record<MimicResourceType, UuidV5>;

  constructor(readonly dataset: MimicDataset) {
    const root = uuidV5(NAMESPACE_OID, dataset);
    this.generators = {} as Record<MimicResourceType, UuidV5>;
    for (const type of MIMIC_RESOURCE_TYPES) this.generators[type] = new UuidV5(uuidV5(root, type));
  }

  /** The namespace UUID of one resource type (documented so others can recompute ids). */
  static namespaceOf(dataset: MimicDataset, type: MimicResourceType): string {
    return uuidV5(uuidV5(NAMESPACE_OID, dataset), type);
  }

  id(type: MimicResourceType, sourceKey: string): string {
    return this.generators[type].of(sourceKey);
  }

  /** First 32 bits of the digest behind the last id of `type` (for duplicate detection). */
  lastHash32(type: MimicResourceType): number {
    return this.generators[type].lastHash32;
  }
}

/**
 * Counts repeats of 32-bit hashes in about 8 bytes per distinct hash (open addressing), so that
 * telling "first time this key" from "seen before" costs no per-row strings in memory. A repeat is
 * either the same key again or a (rare) hash collision; either way the caller adds the returned
 * ordinal to the key, which stays deterministic and keeps ids unique.
 */
export class HashRepeatCounter {
  private table = new Uint32Array(1 << 12);
  private size = 0;
  private readonly repeats = new Map<number, number>();

  /** 0 the first time `hash` is added, then 1, 2, … */
  add(hash: number): number {
    const h = hash >>> 0 || 1;
    let mask = this.table.length - 1;
    let i = Math.imul(h, 0x9e3779b1) >>> 0 & mask;
    for (;;) {
      const v = this.table[i];
      if (v === 0) break;
      if (v === h) {
        const n = (this.repeats.get(h) ?? 0) + 1;
        this.repeats.set(h, n);
        return n;
      }
      i = (i + 1) & mask;
    }
    this.table[i] = h;
    if (++this.size * 2 > this.table.length) {
      const old = this.table;
      this.table = new Uint32Array(old.length * 2);
      mask = this.table.length - 1;
      for (const v of old) {
        if (v === 0) continue;
        let j = Math.imul(v, 0x9e3779b1) >>> 0 & mask;
        while (this.table[j] !== 0) j = (j + 1) & mask;
        this.table[j] = v;
      }
    }
    return 0;
  }
}
