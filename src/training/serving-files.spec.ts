import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MedicationRequest } from 'fhir/r4';
import type { FhirSource, PatientResources } from '../fhir/fhir-source.types';
import { FakeTerminology } from '../../test/fixtures/patients/fake-terminology';
import { countProducts, hashServingFiles, writeServingFiles } from './serving-files';
import { loadModelExtras } from '../cds-hooks/serving/model-extras';
import type { ModelManifest } from '../inference/model-manifest.types';

const NDC = 'http://hl7.org/fhir/sid/ndc';
const order = (id: string, code: string, status: MedicationRequest['status'] = 'completed'): MedicationRequest => ({
  resourceType: 'MedicationRequest', id, status, intent: 'order', subject: { reference: 'Patient/p' }, medicationCodeableConcept: { coding: [{ system: NDC, code, display: code }] },
});
const patient = (id: string, orders: MedicationRequest[]): PatientResources => ({
  patient: { resourceType: 'Patient', id }, encounters: [], conditions: [], procedures: [], medicationRequests: orders, medications: [],
});

describe(countProducts.name, () => {
  it('keeps the most ordered product per class, ignoring drafts and voided orders', () => {
    const products = countProducts([
      patient('a', [order('1', '51079007220'), order('2', '51079007220'), order('3', '51079025520')]),
      patient('b', [order('4', '51079025520', 'draft'), order('5', '51079025520', 'cancelled')]),
    ], new FakeTerminology());
    expect(products.classes).toEqual({
      C03C: { coding: { system: NDC, code: '51079007220', display: '51079007220' }, orders: 2, classOrders: 2 },
      C07A: { coding: { system: NDC, code: '51079025520', display: '51079025520' }, orders: 1, classOrders: 1 },
    });
  });
});

describe(writeServingFiles.name, () => {
  it('writes products.json from the train split only, and the never-suggest default of the source', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'serving-files-'));
    try {
      const dataset = path.join(tmp, 'ds');
      const model = path.join(tmp, 'model');
      await fs.mkdir(path.join(dataset, 'splits'), { recursive: true });
      await fs.mkdir(model);
      await fs.writeFile(path.join(dataset, 'manifest.json'), JSON.stringify({ source: { location: 'out/fhir-mimic-iv', kind: 'ndjson', description: 'MIMIC-IV demo' } }));
      await fs.writeFile(path.join(dataset, 'splits', 'train.txt'), 'a\n');
      const source = { kind: 'ndjson', location: 'x', resources: () => { throw new Error('unused'); }, async *patients() {
        yield patient('a', [order('1', '51079007220')]);
        yield patient('b', [order('2', '51079025520')]);
      } } as unknown as FhirSource;
      const lines: string[] = [];
      const written = await writeServingFiles(dataset, model, { openSource: async () => source, terminology: new FakeTerminology(), info: (l) => lines.push(l) });
      expect(written).toEqual(['never-suggest.json', 'products.json']);
      const products = JSON.parse(await fs.readFile(path.join(model, 'products.json'), 'utf8'));
      expect(Object.keys(products.classes)).toEqual(['C03C']);
      expect(JSON.parse(await fs.readFile(path.join(model, 'never-suggest.json'), 'utf8')).prefixes).toContain('B05C');
      // The manifest records their hashes, and the service's loader accepts exactly those files.
      await fs.writeFile(path.join(model, 'manifest.json'), JSON.stringify({ name: 'm', training: { dataset: 'mimic' } }));
      await hashServingFiles(model, written);
      const manifest = JSON.parse(await fs.readFile(path.join(model, 'manifest.json'), 'utf8')) as ModelManifest;
      expect(Object.keys(manifest.servingFilesSha256!)).toEqual(['never-suggest.json', 'products.json']);
      expect(loadModelExtras(model, manifest).trainingProducts?.classes.C03C).toBeDefined();
      await fs.appendFile(path.join(model, 'products.json'), ' ');
      expect(() => loadModelExtras(model, manifest)).toThrow(/products.json: sha256 .* does not match/);
      // A source that is gone: never-suggest.json only, and one line saying why.
      const again = await writeServingFiles(dataset, model, { openSource: async () => { throw new Error('ENOENT: no such folder'); }, terminology: new FakeTerminology(), info: (l) => lines.push(l) });
      expect(again).toEqual(['never-suggest.json']);
      expect(lines.pop()).toContain('no products.json written');
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});
