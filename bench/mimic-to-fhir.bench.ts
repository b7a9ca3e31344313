/**
 * mimic-to-fhir throughput and memory: the MIMIC-IV demo's hosp tables scaled up by replicating
 * every patient under new subject_id / hadm_id / pharmacy_id offsets (×1, ×10, ×30 by default;
 * MIMIC_BENCH_SCALES="1,20" to choose), each converted MIMIC_BENCH_RUNS times (default 3; medians
 * are printed, the machine is shared) in its own child process, pinned to one core with taskset when
 * available, that reports wall time, CPU time and peak RSS. Flat RSS across sizes shows the event
 * tables are streamed; the goal is ≥ 200 k source rows/s on one core.
 *
 * "Per CPU-second" = source rows / (user + system CPU time of the child, all its threads: the JS
 * thread plus libuv's pool doing gunzip and file writes). Pinned to one core, that is the rate one
 * dedicated core gives; the wall rate is lower whenever other processes share the core. Both
 * include the fixed cost of startup and of loading the 195 k ICD title rows, so the marginal rate
 * between the two largest sizes (Δrows / ΔCPU) is printed too.
 *
 * The baseline of the same run: a child pinned the same way reads the same files, gunzip + line split
 * and nothing else (the I/O limit of any converter of these files); the conversion's CPU time is
 * printed as a multiple of that read's.
 */
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { createGunzip, createGzip } from 'node:zlib';
import { streamCsvFile } from '../src/mimic/csv-file-reader';
import { convertMimic } from '../src/mimic/mimic-to-fhir.converter';
import { loadCliConfig } from '../src/config/cli-config';

const CHILD_FLAG = '--mimic-to-fhir-bench-child';
const READ_CHILD_FLAG = '--mimic-read-bench-child';
const EVENT_TABLES = ['patients', 'admissions', 'diagnoses_icd', 'procedures_icd', 'prescriptions'] as const;
const DICTIONARIES = ['d_icd_diagnoses', 'd_icd_procedures'];
/** Replica k adds k × OFFSET to every id column, so replicas never collide with MIMIC's 8-digit ids. */
const OFFSET = 100_000_000;
const ID_COLUMNS = new Set(['subject_id', 'hadm_id', 'pharmacy_id']);

interface ChildResult { rows: number; dictionaryRows: number; seconds: number; cpuSeconds: number; maxRssMiB: number; resources: Record<string, number> }

function csvField(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 44 || c === 34 || c === 10 || c === 13) return `"${v.split('"').join('""')}"`;
  }
  return v;
}

async function writeGzipLines(file: string, lines: Iterable<string>): Promise<void> {
  const gzip = createGzip({ level: 1 });
  const out = createWriteStream(file);
  gzip.pipe(out);
  let batch: string[] = [];
  for (const line of lines) {
    batch.push(line);
    if (batch.length >= 5000) {
      if (!gzip.write(`${batch.join('\n')}\n`)) await once(gzip, 'drain');
      batch = [];
    }
  }
  if (batch.length > 0) gzip.write(`${batch.join('\n')}\n`);
  gzip.end();
  await once(out, 'finish');
}

/** A copy of the demo's hosp tables with every patient replicated `scale` times under new ids. */
export async function buildScaledMimicIv(demoDir: string, targetDir: string, scale: number): Promise<number> {
  const hosp = path.join(targetDir, 'hosp');
  await fs.mkdir(hosp, { recursive: true });
  let rows = 0;
  for (const table of EVENT_TABLES) {
    const source = path.join(demoDir, 'hosp', `${table}.csv.gz`);
    let header: string[] = [];
    const data: string[][] = [];
    await streamCsvFile(source, { header: (h) => { header = h; }, row: (f) => { data.push(f.slice()); } });
    const idCols = header.map((h, i) => (ID_COLUMNS.has(h) ? i : -1)).filter((i) => i >= 0);
    function* lines(): Generator<string> {
      yield header.join(',');
      for (let k = 0; k < scale; k++) {
        for (const f of data) {
          const copy = f.slice();
          for (const i of idCols) if (copy[i] !== '') copy[i] = String(Number(copy[i]) + k * OFFSET);
          yield copy.map(csvField).join(',');
        }
      }
    }
    await writeGzipLines(path.join(hosp, `${table}.csv.gz`), lines());
    rows += data.length * scale;
  }
  for (const d of DICTIONARIES) await fs.copyFile(path.join(demoDir, 'hosp', `${d}.csv.gz`), path.join(hosp, `${d}.csv.gz`));
  return rows;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function runChild(source: string, out: string, flag = CHILD_FLAG): Promise<ChildResult> {
  const args = [__filename, flag, source, out];
  const pinned = existsSync('/usr/bin/taskset');
  return new Promise((resolve, reject) => {
    execFile(pinned ? '/usr/bin/taskset' : process.execPath, pinned ? ['-c', '0', process.execPath, ...args] : args,
      { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
        if (error) return reject(new Error(`bench child failed: ${stderr.split('\n')[0] || error.message}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult);
      });
  });
}

export async function runMimicToFhirBench(): Promise<void> {
  const demo = path.join(loadCliConfig().sharedDataDir, 'mimic-iv-demo-2.2');
  if (!existsSync(path.join(demo, 'hosp', 'prescriptions.csv.gz'))) {
    console.log('mimic-to-fhir: skipped (MIMIC-IV demo not found; set LEADER_SHARED_DATA)');
    return;
  }
  const scales = (process.env.MIMIC_BENCH_SCALES ?? '1,10,30').split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mimic-bench-'));
  try {
    console.log(`mimic-to-fhir (MIMIC-IV demo hosp tables replicated; child process per size${existsSync('/usr/bin/taskset') ? ', pinned to 1 core' : ''})`);
    const runs = Math.max(1, Number(process.env.MIMIC_BENCH_RUNS ?? 3) || 3);
    const measured: Array<{ scale: number; rows: number; cpuSeconds: number }> = [];
    for (const scale of scales) {
      const source = path.join(tmp, `x${scale}`);
      await buildScaledMimicIv(demo, source, scale);
      const results: ChildResult[] = [];
      const reads: ChildResult[] = [];
      for (let i = 0; i < runs; i++) {
        // Alternating, so both see the same machine load.
        reads.push(await runChild(source, '', READ_CHILD_FLAG));
        results.push(await runChild(source, path.join(tmp, `x${scale}-out`)));
        await fs.rm(path.join(tmp, `x${scale}-out`), { recursive: true, force: true });
      }
      const readCpu = median(reads.map((x) => x.cpuSeconds));
      const readLines = reads[0].rows + reads[0].dictionaryRows;
      const r = results[0];
      const seconds = median(results.map((x) => x.seconds));
      const cpuSeconds = median(results.map((x) => x.cpuSeconds));
      const maxRssMiB = median(results.map((x) => x.maxRssMiB));
      measured.push({ scale, rows: r.rows, cpuSeconds });
      console.log(
        `  ×${String(scale).padEnd(3)} ${String(r.rows).padStart(8)} source rows (+${r.dictionaryRows} ICD title rows), median of ${runs}:  ` +
        `wall ${seconds.toFixed(2)} s = ${Math.round(r.rows / seconds)} rows/s  ` +
        `cpu ${cpuSeconds.toFixed(2)} s = ${Math.round(r.rows / cpuSeconds)} rows/s per CPU-second  ` +
        `peak RSS ${maxRssMiB.toFixed(0)} MiB  [${r.resources.MedicationRequest} MedicationRequest]`,
      );
      console.log(
        `       raw read of the same files (gunzip + line split, same pinning): cpu ${readCpu.toFixed(2)} s = ${Math.round(readLines / readCpu)} lines/s per CPU-second; ` +
        `conversion costs ${(cpuSeconds / readCpu).toFixed(1)}× the read (${Math.round((100 * readCpu) / cpuSeconds)} % of the I/O limit)`,
      );
      await fs.rm(source, { recursive: true, force: true });
    }
    if (measured.length >= 2) {
      const [a, b] = measured.slice(-2);
      if (b.cpuSeconds > a.cpuSeconds) {
        console.log(`  marginal ×${a.scale}→×${b.scale}: ${Math.round((b.rows - a.rows) / (b.cpuSeconds - a.cpuSeconds))} rows per CPU-second (startup and ICD titles excluded)`);
      }
    }
    console.log('  per CPU-second = rows / (user + system CPU of the pinned child, gunzip and write threads included): the one-core rate on an idle core');
    console.log('  goal: ≥ 200000 rows/s on one core; peak RSS should stay flat as the input grows; the ratio to the raw read is the machine-independent figure');
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function child(source: string, out: string): Promise<void> {
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const result = await convertMimic(source, out);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  let rows = 0;
  let dictionaryRows = 0;
  for (const [table, n] of Object.entries(result.rows)) {
    if (DICTIONARIES.includes(table)) dictionaryRows += n;
    else rows += n;
  }
  const payload: ChildResult = { rows, dictionaryRows, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMiB: process.resourceUsage().maxRSS / 1024, resources: result.resources };
  process.stdout.write(`${JSON.stringify(payload)}\n`);
}

/** The I/O baseline: every table the converter reads, gunzipped and split into lines, nothing more. */
async function readChild(source: string): Promise<void> {
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let rows = 0;
  let dictionaryRows = 0;
  for (const table of [...DICTIONARIES, ...EVENT_TABLES]) {
    let lines = -1; // the header is not a row
    const input = createReadStream(path.join(source, 'hosp', `${table}.csv.gz`)).pipe(createGunzip());
    for await (const line of createInterface({ input, crlfDelay: Infinity })) if (line !== '') lines++;
    if ((DICTIONARIES as readonly string[]).includes(table)) dictionaryRows += lines;
    else rows += lines;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const payload: ChildResult = { rows, dictionaryRows, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMiB: process.resourceUsage().maxRSS / 1024, resources: {} };
  process.stdout.write(`${JSON.stringify(payload)}\n`);
}

if (require.main === module) {
  if (process.argv[2] === READ_CHILD_FLAG) {
    readChild(process.argv[3]).catch((e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exitCode = 1;
    });
  } else if (process.argv[2] === CHILD_FLAG) {
    child(process.argv[3], process.argv[4]).catch((e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exitCode = 1;
    });
  } else {
    runMimicToFhirBench().catch((e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exitCode = 1;
    });
  }
}
