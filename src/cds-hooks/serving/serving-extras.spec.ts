import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelLoadError } from '../../inference/student-model';
import type { ModelManifest } from '../../inference/model-manifest.types';
import { MIMIC_NEVER_SUGGEST } from '../../recommend/never-suggest';
import { IssuedSuggestions } from './issued-suggestions';
import { loadModelExtras, NEVER_SUGGEST_FILE, PRODUCTS_FILE } from './model-extras';

const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';

describe(loadModelExtras.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'model-extras-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));
  const manifest = (dataset: string) => ({ training: { dataset, datasetDescription: '' } }) as unknown as ModelManifest;

  it('without the files: no training products, and the documented never-suggest default for MIMIC-trained models only', () => {
    expect(loadModelExtras(dir, manifest('mimic-iv-demo-2.2 → leader dataset'))).toMatchObject({ neverSuggest: MIMIC_NEVER_SUGGEST });
    expect(loadModelExtras(dir, manifest('mimic-iv-demo-2.2')).trainingProducts).toBeUndefined();
    expect(loadModelExtras(dir, manifest('synthea bundles')).neverSuggest).toEqual([]);
  });

  const hashed = async (dataset: string): Promise<ModelManifest> => {
    const sha = async (f: string) => createHash('sha256').update(await fs.readFile(path.join(dir, f))).digest('hex');
    return { ...manifest(dataset), servingFilesSha256: { [NEVER_SUGGEST_FILE]: await sha(NEVER_SUGGEST_FILE), [PRODUCTS_FILE]: await sha(PRODUCTS_FILE) } };
  };

  it('reads the files the manifest hashes, and names a bad one in one line', async () => {
    await fs.writeFile(path.join(dir, NEVER_SUGGEST_FILE), JSON.stringify({ prefixes: ['B05C'] }));
    await fs.writeFile(path.join(dir, PRODUCTS_FILE), JSON.stringify({ classes: { B01A: { coding: { system: RX, code: '855332' }, orders: 3, classOrders: 4 } } }));
    const extras = loadModelExtras(dir, await hashed('mimic'));
    expect(extras.neverSuggest).toEqual(['B05C']);
    expect(extras.trainingProducts!.classes.B01A.coding.code).toBe('855332');
    await fs.writeFile(path.join(dir, NEVER_SUGGEST_FILE), JSON.stringify({ prefixes: [5] }));
    expect(() => loadModelExtras(dir, manifest('mimic'))).toThrow(/products.json: not covered by manifest.json servingFilesSha256/);
    expect(() => loadModelExtras(dir, { ...manifest('mimic'), servingFilesSha256: { [NEVER_SUGGEST_FILE]: '0'.repeat(64), [PRODUCTS_FILE]: '0'.repeat(64) } }))
      .toThrow(/does not match manifest servingFilesSha256/);
    expect(() => loadModelExtras(dir, { ...manifest('mimic'), servingFilesSha256: {} })).toThrow(ModelLoadError);
  });

  it('refuses a bad file the manifest hashes, and a hashed file that is missing', async () => {
    await fs.writeFile(path.join(dir, PRODUCTS_FILE), JSON.stringify({ classes: {} }));
    await fs.writeFile(path.join(dir, NEVER_SUGGEST_FILE), JSON.stringify({ prefixes: [5] }));
    const m = await hashed('mimic');
    expect(() => loadModelExtras(dir, m)).toThrow(/never-suggest.json: /);
    await fs.writeFile(path.join(dir, NEVER_SUGGEST_FILE), '{');
    const broken = await hashed('mimic');
    expect(() => loadModelExtras(dir, broken)).toThrow(/never-suggest.json: not valid JSON/);
    await fs.rm(path.join(dir, PRODUCTS_FILE));
    expect(() => loadModelExtras(dir, m)).toThrow(/products.json: missing, but manifest.json servingFilesSha256 names it/);
  });
});

describe(IssuedSuggestions.name, () => {
  it('fills in the class and product of accepted suggestions, and of a declined card', () => {
    const issued = new IssuedSuggestions(2);
    issued.remember('card-1', [{ uuid: 's-1', atc3: 'C07A', product: { system: RX, code: '866924' } }, { uuid: 's-2', atc3: 'A02B' }]);
    expect(issued.describe({ card: 'card-1', outcome: 'accepted', acceptedSuggestions: [{ id: 's-1' }], outcomeTimestamp: 't' }).suggestions)
      .toEqual([{ id: 's-1', outcome: 'accepted', atc3: 'C07A', product: { system: RX, code: '866924' } }]);
    expect(issued.describe({ card: 'card-1', outcome: 'overridden', outcomeTimestamp: 't' }).suggestions!.map((s) => s.atc3)).toEqual(['C07A', 'A02B']);
    // Unknown ids keep what the client sent.
    expect(issued.describe({ card: 'x', outcome: 'accepted', acceptedSuggestions: [{ id: 'zz', atc3: 'B01A' }], outcomeTimestamp: 't' }).suggestions).toEqual([{ id: 'zz', outcome: 'accepted', atc3: 'B01A' }]);
    issued.remember('card-2', [{ uuid: 's-3', atc3: 'N02B' }]);
    issued.remember('card-3', [{ uuid: 's-4', atc3: 'N02A' }]);
    expect(issued.describe({ card: 'card-1', outcome: 'overridden', outcomeTimestamp: 't' }).suggestions).toBeUndefined();
  });
});
