import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { convertMimic } from '../../src/mimic/mimic-to-fhir.converter';
import { readDataset, type LoadedDataset } from '../../src/training/dataset.reader';
import type { Resource } from 'fhir/r4';
import { startFhirStubServer } from '../fixtures/fhir-stub-server';
import { runDatasetCommand } from '../golden/run-dataset-command';
import { SHARED_DATA } from '../support/shared-data';

/**
 * `leader dataset` on real sources: both PhysioNet demos converted with mimic-to-fhir (NDJSON) and the
 * Synthea SMART sample (Bundles). Every dataset is read back through readDataset (which checks every
 * field); the counts must be sane for the data (100 demo patients each, 466 Synthea patients).
 */

describe('leader dataset (e2e on the demos and Synthea)', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'leader-dataset-e2e-'));
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  async function datasetFrom(fhir: string, name: string, ...args: string[]): Promise<LoadedDataset> {
    const out = path.join(tmp, name);
    await runDatasetCommand(['--fhir', fhir, '--out', out, '--quiet', ...args]);
    return readDataset(out);
  }

  function expectSaneSplit(ds: LoadedDataset): void {
    const { train, val, test, samples } = ds.manifest.counts;
    expect(train + val + test).toBe(samples);
    expect(train).toBeGreaterThanOrEqual(Math.floor(0.75 * samples));
    expect(val).toBeGreaterThan(0);
    expect(test).toBeGreaterThan(0);
    expect(ds.ddi.pairs.length).toBeGreaterThan(0);
  }

  it.each([
    ['mimic-iv-demo-2.2', 'MIMIC-IV'],
    ['mimic-iii-demo-1.4', 'MIMIC-III'],
  ])('builds a dataset from the %s demo converted to FHIR NDJSON', async (folder, dataset) => {
    const fhir = path.join(tmp, `${folder}-fhir`);
    await convertMimic(path.join(SHARED_DATA, folder), fhir);
    const ds = await datasetFrom(fhir, folder);
    expect(ds.manifest.source.kind).toBe('ndjson');
    expect(ds.manifest.source.description).toContain(dataset);
    expect(ds.manifest.provenance.licence).toMatch(/ODbL/);
    expect(ds.manifest.provenance.attribution).toMatch(/PhysioNet/);
    // 100 demo patients; nearly all have a visit with mapped medications and codes.
    expect(ds.manifest.counts.patients).toBeGreaterThanOrEqual(85);
    expect(ds.manifest.counts.patients).toBeLessThanOrEqual(100);
    expect(ds.manifest.counts.labels).toBeGreaterThanOrEqual(80);
    expect(ds.manifest.counts.labels).toBeLessThanOrEqual(200);
    expectSaneSplit(ds);
    expect(Object.keys(ds.vocab.labelNames).length).toBeGreaterThanOrEqual(ds.vocab.labels.length - 5);

    if (dataset === 'MIMIC-IV') {
      const perVisit = await datasetFrom(fhir, `${folder}-per-visit`, '--per-visit', '--top-meds', '50', '--prompt-mode', 'faithful', '--split', 'sequential', '--min-visits', '2');
      expect(perVisit.manifest.options).toMatchObject({ perVisit: true, topMeds: 50, promptMode: 'faithful', split: 'sequential', minVisits: 2 });
      expect(perVisit.vocab.labels).toHaveLength(50);
      expect(perVisit.samples.every((s) => /#\d+$/.test(s.id) && s.visitCount >= 2)).toBe(true);
      expect(perVisit.samples.every((s) => s.prompt.includes(' In this visit, he has diagnosis: '))).toBe(true);
      expect(perVisit.manifest.counts.samples).toBeGreaterThan(ds.manifest.counts.samples);
    }
  });

  it('reads the same patients from a FHIR server as from the NDJSON folder it serves', async () => {
    const fhir = path.join(tmp, 'mimic-iii-server-fhir');
    await convertMimic(path.join(SHARED_DATA, 'mimic-iii-demo-1.4'), fhir);
    const resources: Resource[] = [];
    for (const type of ['Patient', 'Encounter', 'Condition', 'Procedure', 'Medication', 'MedicationRequest']) {
      const text = await fs.readFile(path.join(fhir, `${type}.ndjson`), 'utf8');
      for (const line of text.split('\n')) if (line.trim()) resources.push(JSON.parse(line) as Resource);
    }
    const server = await startFhirStubServer({ resources, pageSize: 200, token: 'dataset-token' });
    try {
      const fromFolder = await datasetFrom(fhir, 'mimic-iii-from-folder');
      process.env.LEADER_TEST_FHIR_TOKEN = 'dataset-token';
      const fromServer = await datasetFrom(server.url, 'mimic-iii-from-server', '--token-env', 'LEADER_TEST_FHIR_TOKEN');
      expect(fromServer.manifest.source.kind).toBe('fhir-server');
      expect(fromServer.manifest.vocabHash).toBe(fromFolder.manifest.vocabHash);
      expect(fromFolder.samples.length).toBeGreaterThan(80);
      expect(fromServer.samples).toEqual(fromFolder.samples);
      expect(server.requests.some((r) => r.query.has('_offset'))).toBe(true); // paged
    } finally {
      await server.close();
    }
  });

  it('builds a dataset from the Synthea SMART sample Bundles', async () => {
    const ds = await datasetFrom(path.join(SHARED_DATA, 'synthea-r4-smart-sample', 'bundles'), 'synthea');
    expect(ds.manifest.source.kind).toBe('bundles');
    expect(ds.manifest.counts.patients).toBeGreaterThanOrEqual(350);
    expect(ds.manifest.counts.patients).toBeLessThanOrEqual(466);
    expect(ds.manifest.counts.labels).toBeGreaterThanOrEqual(30);
    expectSaneSplit(ds);
    expect(ds.samples.some((s) => s.visitCount === 10)).toBe(true);
  });
});
