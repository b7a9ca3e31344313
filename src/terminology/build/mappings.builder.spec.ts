import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MAPPING_FILE } from '../mapping-files';
import { MappingsBuilder } from './mappings.builder';
import { parseCsvRecords } from './csv-table';
import { stableJson } from './stable-json';
import { SHARED_DATA } from '../../../test/support/shared-data';

const REPO = path.resolve(__dirname, '..', '..', '..');
const SHARED = SHARED_DATA;
const COMMITTED = path.join(REPO, 'fhir-mappings');

describe(MappingsBuilder.name, () => {
  const built = existsSync(SHARED) ? new MappingsBuilder(SHARED).build() : undefined;

  it('rebuilds the committed fhir-mappings/ byte for byte (reproducible, and the committed folder is current)', () => {
    if (!built) throw new Error(`shared data not found at ${SHARED} (set LEADER_SHARED_DATA)`);
    expect([...built.files.keys()].sort()).toEqual(readdirSync(COMMITTED).sort());
    for (const [name, content] of built.files) expect({ name, same: readFileSync(path.join(COMMITTED, name), 'utf8') === content }).toEqual({ name, same: true });
  });

  it('writes FHIR ConceptMaps with url, status, systems, attribution, and the SNOMED map marked as unreviewed draft', () => {
    const maps = Object.values(MAPPING_FILE).filter((f) => f.startsWith('conceptmap-')).map((f) => JSON.parse(built?.files.get(f) as string));
    for (const map of maps) {
      expect(map).toMatchObject({ resourceType: 'ConceptMap', url: `http://leader-cds.org/fhir/ConceptMap/${map.id}`, status: expect.any(String) });
      expect(Boolean(map.copyright && map.description && map.group.every((g: { source?: string; target?: string }) => g.source && g.target))).toBe(true);
      const targets = map.group.flatMap((g: { element: Array<{ target?: Array<{ equivalence?: string }> }> }) => g.element.flatMap((e) => e.target ?? []));
      expect(targets.filter((t: { equivalence?: string }) => !t.equivalence)).toEqual([]);
      if (map.id !== 'mimic-local-systems') expect(Boolean(map.sourceUri && map.targetUri && targets.length > 0)).toBe(true);
    }
    const snomed = JSON.parse(built?.files.get(MAPPING_FILE.snomedIcd10cm) as string);
    expect(snomed).toMatchObject({ status: 'draft', experimental: true });
    expect(snomed.description).toMatch(/^UNREVIEWED, HAND-MADE MAP/);
  });

  it('fails naming every route rule that names no real ATC code, substance, solution group or route', () => {
    if (!existsSync(SHARED)) throw new Error(`shared data not found at ${SHARED} (set LEADER_SHARED_DATA)`);
    const rules = JSON.parse(readFileSync(path.join(REPO, 'src', 'terminology', 'build', 'atc-route-rules.json'), 'utf8'));
    rules.classRoutes.push({ atc: 'Z99', routes: ['oral'], why: 'bad code' });
    rules.substances.push({ ingredient: 'unobtainium', atc: 'N02BA01', why: 'bad substance' });
    rules.primary.push({ ingredient: 'ibuprofen', atc: 'N02BE01', why: 'not one of its codes' });
    rules.routeWords.push(['teleport', 'telepathic']);
    rules.solutionGroups.electrolytes.push('ringer soup');
    rules.solutions.push({ groups: ['electrolytes', 'broths'], routes: ['oral'], atc: 'B05BB99', why: 'bad solution' });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'route-rules-')), 'rules.json');
    writeFileSync(file, JSON.stringify(rules));
    expect(() => new MappingsBuilder(SHARED, file).build()).toThrow(
      `${file}: classRoutes: Z99 is not an ATC code; substances: unobtainium is not a WHO substance name; primary ibuprofen: N02BE01 is not one of its WHO codes; ` +
        'solutionGroups electrolytes: ringer soup is not a WHO substance name; solutions: B05BB99 is not an ATC code; solutions B05BB99: unknown group broths; ' +
        'routeWords teleport: unknown route telepathic',
    );
  });

  it('fails naming the shared input that is missing', () => {
    expect(() => new MappingsBuilder('/nonexistent').build()).toThrow('missing shared input /nonexistent/medrec-maps-gamenet/ndc2rxnorm_mapping.csv');
  });
});

describe(stableJson.name, () => {
  it.each([
    [{ a: 1, b: [1, 2] }, '{"a":1,"b":[1,2]}\n'],
    [{ a: 'x'.repeat(30), b: { c: 'y'.repeat(30) } }, '{\n  "a": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",\n  "b": {"c":"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"}\n}\n'],
    [{ skip: undefined, keep: null }, '{"keep":null}\n'],
  ])('%j', (value, expected) => {
    expect(stableJson(value, 60)).toBe(expected);
  });
});

describe(parseCsvRecords.name, () => {
  it.each([
    ['a,b\n1,2\n', [{ a: '1', b: '2' }]],
    ['a,b\r\n"x, y","say ""hi"""\r\n', [{ a: 'x, y', b: 'say "hi"' }]],
    ['a,b\n"multi\nline",2', [{ a: 'multi\nline', b: '2' }]],
    ['a,b\n\n1,\n', [{ a: '1', b: '' }]],
  ])('%p', (text, expected) => {
    expect(parseCsvRecords(text, 't.csv')).toEqual(expected);
  });

  it.each([
    ['a,b\n1,2,3\n', 't.csv: data row 1 has 3 cells, the header has 2'],
    ['a,b\n"open,2\n', 't.csv:2: unterminated quoted field'],
    ['a,b\n1x"y,2\n', 't.csv:2: quote inside an unquoted field'],
  ])('rejects %p', (text, message) => {
    expect(() => parseCsvRecords(text, 't.csv')).toThrow(message);
  });
});
