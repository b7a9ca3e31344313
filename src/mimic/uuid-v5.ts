import { hash } from 'node:crypto';

/** RFC 4122 namespace for ISO OIDs; MIMIC-on-FHIR derives all its namespaces from it (uuid_namespace.sql). */
export const NAMESPACE_OID = '6ba7b812-9dad-11d1-80b4-00c04fd430c8';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The 16 bytes of a UUID written as 8-4-4-4-12 hex. */
export function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (hex.length !== 32 || !/^[0-9a-fA-F]+$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

function bytesToUuid(b: Uint8Array): string {
  return (
    HEX[b[0]] + HEX[b[1]] + HEX[b[2]] + HEX[b[3]] + '-' + HEX[b[4]] + HEX[b[5]] + '-' + HEX[b[6]] + HEX[b[7]] + '-' +
    HEX[b[8]] + HEX[b[9]] + '-' + HEX[b[10]] + HEX[b[11]] + HEX[b[12]] + HEX[b[13]] + HEX[b[14]] + HEX[b[15]]
  );
}

/**
 * Name-based UUID version 5 (RFC 4122 §4.3: SHA-1 of namespace bytes + UTF-8 name). Built on
 * node:crypto so no package is needed; one scratch buffer is reused because this runs once per row.
 */
export class UuidV5 {
  private scratch = Buffer.allocUnsafe(1024);
  private readonly namespace: Buffer;
  /** The last digest's first 32 bits: a free hash of the name for duplicate detection. */
  lastHash32 = 0;

  constructor(namespace: string | Uint8Array) {
    this.namespace = typeof namespace === 'string' ? uuidToBytes(namespace) : Buffer.from(namespace);
    if (this.namespace.length !== 16) throw new Error('a UUID namespace has 16 bytes');
    this.namespace.copy(this.scratch, 0);
  }

  of(name: string): string {
    const maxBytes = 16 + name.length * 3;
    if (maxBytes > this.scratch.length) {
      this.scratch = Buffer.allocUnsafe(maxBytes * 2);
      this.namespace.copy(this.scratch, 0);
    }
    const n = this.scratch.write(name, 16, 'utf8');
    const d = hash('sha1', this.scratch.subarray(0, 16 + n), 'buffer');
    d[6] = (d[6] & 0x0f) | 0x50;
    d[8] = (d[8] & 0x3f) | 0x80;
    this.lastHash32 = d.readUInt32BE(0);
    return bytesToUuid(d);
  }
}

/** One-off v5 UUID (namespaces, tests); use a UuidV5 instance in loops. */
export function uuidV5(namespace: string | Uint8Array, name: string): string {
  return new UuidV5(namespace).of(name);
}
