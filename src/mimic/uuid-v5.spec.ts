import { createHash } from 'node:crypto';
import { HashRepeatCounter, MimicIds } from './mimic-ids';
import { NAMESPACE_OID, UuidV5, uuidV5 } from './uuid-v5';

function uuidV5Reference(ns: string, name: string): string {
  const d = createHash('sha1').update(Buffer.from(ns.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  d[6] = (d[6] & 0x0f) | 0x50;
  d[8] = (d[8] & 0x3f) | 0x80;
  const h = d.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

describe(UuidV5.name, () => {
  const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

  it('matches the well-known RFC 4122 v5 vector (DNS namespace, www.example.com)', () => {
    expect(uuidV5(DNS, 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('equals an independent SHA-1 computation for non-ASCII and long names', () => {
    const reference = (ns: string, name: string) => {
      const d = createHash('sha1').update(Buffer.from(ns.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
      d[6] = (d[6] & 0x0f) | 0x50;
      d[8] = (d[8] & 0x3f) | 0x80;
      const h = d.subarray(0, 16).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    };
    const sut = new UuidV5(NAMESPACE_OID);
    for (const name of ['MIMIC-IV', 'Sjögren|é|', 'x'.repeat(5000), '']) expect(sut.of(name)).toBe(reference(NAMESPACE_OID, name));
  });

  it('equals node:crypto at every padding boundary and for surrogates (the SHA-1 is hand-written)', () => {
    const sut = new UuidV5(DNS);
    const alphabet = ['a', '7', '|', '-', 'é', '€', '😀', '\ud800', ' '];
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let len = 0; len <= 200; len++) {
      const ascii = 'k'.repeat(len);
      expect(sut.of(ascii)).toBe(uuidV5Reference(DNS, ascii));
      let mixed = '';
      while (mixed.length < len) mixed += alphabet[next() % alphabet.length];
      expect(sut.of(mixed)).toBe(uuidV5Reference(DNS, mixed));
      expect(sut.lastHash32).toBe(Buffer.from(uuidV5Reference(DNS, mixed).slice(0, 8), 'hex').readUInt32BE(0));
    }
  });

  it('derives per-type namespaces as MIMIC-on-FHIR does', () => {
    const ids = new MimicIds('MIMIC-IV');
    const ns = uuidV5(uuidV5(NAMESPACE_OID, 'MIMIC-IV'), 'Patient');
    expect(MimicIds.namespaceOf('MIMIC-IV', 'Patient')).toBe(ns);
    expect(ids.id('Patient', '10000032')).toBe(uuidV5(ns, '10000032'));
    expect(new MimicIds('MIMIC-III').id('Patient', '10000032')).not.toBe(ids.id('Patient', '10000032'));
  });
});

describe(HashRepeatCounter.name, () => {
  it('counts repeats per hash across table growth', () => {
    const sut = new HashRepeatCounter();
    for (let i = 1; i <= 20000; i++) expect(sut.add(i * 2654435761)).toBe(0);
    expect(sut.add(5 * 2654435761)).toBe(1);
    expect(sut.add(5 * 2654435761)).toBe(2);
    expect(sut.add(0)).toBe(0);
    expect(sut.add(0)).toBe(1);
  });
});
