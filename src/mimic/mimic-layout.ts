import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { CliError } from '../common/cli-error';

export type MimicDataset = 'MIMIC-IV' | 'MIMIC-III';

export interface MimicTables {
  patients: string;
  admissions: string;
  diagnoses: string;
  procedures: string;
  prescriptions: string;
  /** Title dictionaries: optional (codes keep no display without them). */
  diagnosisTitles?: string;
  procedureTitles?: string;
}

export interface MimicLayout {
  dataset: MimicDataset;
  sourceDir: string;
  tables: MimicTables;
  /** First heading of PROVENANCE.md / README, e.g. "MIMIC-IV Clinical Database Demo v2.2 (...)". */
  title?: string;
  version?: string;
  licenseFile?: string;
  provenanceFile?: string;
}

const TABLE_NAMES: Record<keyof MimicTables, string> = {
  patients: 'patients',
  admissions: 'admissions',
  diagnoses: 'diagnoses_icd',
  procedures: 'procedures_icd',
  prescriptions: 'prescriptions',
  diagnosisTitles: 'd_icd_diagnoses',
  procedureTitles: 'd_icd_procedures',
};
const REQUIRED: Array<keyof MimicTables> = ['patients', 'admissions', 'diagnoses', 'procedures', 'prescriptions'];

async function listDir(dir: string): Promise<Map<string, string> | undefined> {
  try {
    const names = await fs.readdir(dir);
    return new Map(names.map((n) => [n.toLowerCase(), n]));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CliError(`${dir}: cannot read directory (${code ?? (e as Error).message})`);
  }
}

/** `<table>.csv` or `<table>.csv.gz`, file-name case ignored (MIMIC-III ships upper-case names). */
function findTable(dir: string, entries: Map<string, string>, table: string): string | undefined {
  const name = entries.get(`${table}.csv`) ?? entries.get(`${table}.csv.gz`);
  return name === undefined ? undefined : path.join(dir, name);
}

/** The header line of a (possibly gzipped) CSV, lower-cased, read without loading the file. */
export async function peekHeader(file: string): Promise<string[]> {
  const raw = createReadStream(file, { highWaterMark: 1 << 16 });
  const source = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  if (source !== raw) raw.on('error', (e) => source.destroy(e));
  let text = '';
  try {
    for await (const chunk of source) {
      text += (chunk as Buffer).toString('utf8');
      if (text.indexOf('\n') !== -1 || text.length > 1 << 16) break;
    }
  } catch (e) {
    throw new CliError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    raw.destroy();
  }
  const first = text.split('\n')[0].replace(/^\uFEFF/, '').replace(/\r$/, '');
  return first.split(',').map((h) => h.replace(/"/g, '').trim().toLowerCase());
}

async function readTextIfPresent(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Decide which MIMIC release `sourceDir` holds. MIMIC-IV: `hosp/<table>.csv[.gz]` (or the hosp folder
 * itself); MIMIC-III: `ADMISSIONS.csv[.gz]` etc. at the top. A flat folder is told apart by the
 * patients header (anchor_age → IV, dob → III). Anything else is a CliError naming the folder.
 */
export async function detectMimicLayout(sourceDir: string): Promise<MimicLayout> {
  const root = path.resolve(sourceDir);
  const top = await listDir(root);
  if (!top) throw new CliError(`${sourceDir}: no such directory`);
  const hosp = top.has('hosp') ? await listDir(path.join(root, top.get('hosp')!)) : undefined;
  let dir = root;
  let entries = top;
  let dataset: MimicDataset | undefined;
  if (hosp && findTable(path.join(root, top.get('hosp')!), hosp, 'admissions')) {
    dir = path.join(root, top.get('hosp')!);
    entries = hosp;
    dataset = 'MIMIC-IV';
  } else if (findTable(root, top, 'admissions')) {
    const patients = findTable(root, top, 'patients');
    if (patients) {
      const header = await peekHeader(patients);
      if (header.includes('anchor_age')) dataset = 'MIMIC-IV';
      else if (header.includes('dob')) dataset = 'MIMIC-III';
    }
    if (!dataset) {
      throw new CliError(`${sourceDir}: unknown MIMIC layout: found an admissions table but no patients table with anchor_age (MIMIC-IV) or dob (MIMIC-III)`);
    }
  } else {
    throw new CliError(`${sourceDir}: unknown MIMIC layout: expected hosp/admissions.csv[.gz] (MIMIC-IV) or ADMISSIONS.csv[.gz] (MIMIC-III)`);
  }

  const tables: Partial<MimicTables> = {};
  for (const key of Object.keys(TABLE_NAMES) as Array<keyof MimicTables>) {
    const file = findTable(dir, entries, TABLE_NAMES[key]);
    if (file) tables[key] = file;
    else if (REQUIRED.includes(key)) {
      throw new CliError(`${dir}: ${dataset} layout but no ${TABLE_NAMES[key]}.csv or ${TABLE_NAMES[key]}.csv.gz`);
    }
  }

  const layout: MimicLayout = { dataset, sourceDir: root, tables: tables as MimicTables };
  for (const name of ['provenance.md', 'readme.md', 'readme.txt']) {
    const actual = top.get(name);
    if (!actual) continue;
    const text = await readTextIfPresent(path.join(root, actual));
    const heading = text?.split('\n').map((l) => l.replace(/^#+\s*/, '').trim()).find((l) => l.toUpperCase().includes('MIMIC'));
    if (heading) {
      layout.title = heading;
      if (name === 'provenance.md') layout.provenanceFile = path.join(root, actual);
      break;
    }
  }
  if (top.has('provenance.md')) layout.provenanceFile = path.join(root, top.get('provenance.md')!);
  const version = /\bv(?:ersion\s*)?(\d+(?:\.\d+)+)\b/i.exec(layout.title ?? '') ?? /-(\d+(?:\.\d+)+)$/.exec(path.basename(root));
  if (version) layout.version = version[1];
  for (const name of ['license.txt', 'license', 'license.md']) {
    if (top.has(name)) { layout.licenseFile = path.join(root, top.get(name)!); break; }
  }
  return layout;
}
