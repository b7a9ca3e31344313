/** RFC 4122 namespace for ISO OIDs; MIMIC-on-FHIR derives all its namespaces from it (uuid_namespace.sql). */
export const NAMESPACE_OID = '6ba7b812-9dad-11d1-80b4-00c04fd430c8';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The 16 bytes of a UUID written as 8-4-4-4-12 hex. */
export function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (hex.length !== 32 || !/^[0-9a-fA-F]+$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

/**
 * Name-based UUID version 5 (RFC 4122 §4.3: SHA-1 of namespace bytes + UTF-8 name). This runs once
 * per converted row, so SHA-1 is computed here in plain JavaScript over one reused scratch buffer:
 * the names are one or two 64-byte blocks, where node:crypto's per-call setup and digest Buffer
 * cost several times the compression itself. uuid-v5.spec.ts checks it against node:crypto.
 */
export class UuidV5 {
  private scratch = Buffer.allocUnsafe(1024);
  private readonly w = new Int32Array(80);
  private readonly namespace: Buffer;
  private h0 = 0;
  private h1 = 0;
  private h2 = 0;
  private h3 = 0;
  /** The last digest's first 32 bits: a free hash of the name for duplicate detection. */
  lastHash32 = 0;

  constructor(namespace: string | Uint8Array) {
    this.namespace = typeof namespace === 'string' ? uuidToBytes(namespace) : Buffer.from(namespace);
    if (this.namespace.length !== 16) throw new Error('a UUID namespace has 16 bytes');
    this.namespace.copy(this.scratch, 0);
  }

  of(name: string): string {
    const len = name.length;
    // Room for the name's UTF-8 bytes (≤ 3 per UTF-16 unit) plus SHA-1 padding (≤ 72 bytes).
    if (16 + len * 3 + 72 > this.scratch.length) {
      this.scratch = Buffer.allocUnsafe((16 + len * 3 + 72) * 2);
      this.namespace.copy(this.scratch, 0);
    }
    const m = this.scratch;
    let n = 16;
    for (let i = 0; i < len; i++) {
      const c = name.charCodeAt(i);
      if (c >= 0x80) { n = 16 + m.write(name, 16, 'utf8'); break; }
      m[n++] = c;
    }
    this.sha1(n);
    const a = this.h0;
    const b = this.h1;
    const c = (this.h2 & 0x3fffffff) | 0x80000000;
    const d = this.h3;
    this.lastHash32 = a >>> 0;
    return (
      HEX[a >>> 24] + HEX[(a >>> 16) & 255] + HEX[(a >>> 8) & 255] + HEX[a & 255] + '-' +
      HEX[b >>> 24] + HEX[(b >>> 16) & 255] + '-' + HEX[((b >>> 8) & 0x0f) | 0x50] + HEX[b & 255] + '-' +
      HEX[c >>> 24] + HEX[(c >>> 16) & 255] + '-' + HEX[(c >>> 8) & 255] + HEX[c & 255] +
      HEX[d >>> 24] + HEX[(d >>> 16) & 255] + HEX[(d >>> 8) & 255] + HEX[d & 255]
    );
  }

  /** SHA-1 (FIPS 180-4) of scratch[0, n); leaves the first 128 bits of the digest in h0..h3. */
  private sha1(n: number): void {
    const m = this.scratch;
    const w = this.w;
    // Padding: 0x80, zeros, then the bit length as a 64-bit big-endian integer (high word 0 here).
    const end = ((n + 8) >>> 6) * 64 + 64;
    m[n] = 0x80;
    for (let i = n + 1; i < end - 4; i++) m[i] = 0;
    const bits = n * 8;
    m[end - 4] = bits >>> 24;
    m[end - 3] = (bits >>> 16) & 255;
    m[end - 2] = (bits >>> 8) & 255;
    m[end - 1] = bits & 255;
    let h0 = 0x67452301;
    let h1 = 0xefcdab89 | 0;
    let h2 = 0x98badcfe | 0;
    let h3 = 0x10325476;
    let h4 = 0xc3d2e1f0 | 0;
    for (let off = 0; off < end; off += 64) {
      for (let i = 0; i < 16; i++) {
        const j = off + i * 4;
        w[i] = (m[j] << 24) | (m[j + 1] << 16) | (m[j + 2] << 8) | m[j + 3];
      }
      for (let i = 16; i < 80; i++) {
        const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
        w[i] = (x << 1) | (x >>> 31);
      }
      let a = h0;
      let b = h1;
      let c = h2;
      let d = h3;
      let e = h4;
      for (let i = 0; i < 20; i++) {
        const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[i]) | 0;
        e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
      }
      for (let i = 20; i < 40; i++) {
        const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[i]) | 0;
        e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
      }
      for (let i = 40; i < 60; i++) {
        const t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e - 0x70e44324 + w[i]) | 0;
        e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
      }
      for (let i = 60; i < 80; i++) {
        const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e - 0x359d3e2a + w[i]) | 0;
        e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
      }
      h0 = (h0 + a) | 0;
      h1 = (h1 + b) | 0;
      h2 = (h2 + c) | 0;
      h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0;
    }
    this.h0 = h0;
    this.h1 = h1;
    this.h2 = h2;
    this.h3 = h3;
  }
}

/** One-off v5 UUID (namespaces, tests); use a UuidV5 instance in loops. */
export function uuidV5(namespace: string | Uint8Array, name: string): string {
  return new UuidV5(namespace).of(name);
}
