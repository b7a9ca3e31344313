"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
exports.buildScaledMimicIv = buildScaledMimicIv;
exports.runMimicToFhirBench = runMimicToFhirBench;
/**
 * mimic-to-fhir throughput and memory: the MIMIC-IV demo's hosp tables scaled up by replicating
 * every patient under new subject_id / hadm_id / pharmacy_id offsets (×1 and ×10 by default;
 * MIMIC_BENCH_SCALES="1,20" to choose), each converted in its own child process (pinned to one core
 * with taskset when available) that reports wall time and peak RSS. Flat RSS across sizes shows the
 * event tables are streamed; the goal is ≥ 200 k source rows/s on one core.
 */
const node_child_process_1 = require("node:child_process");
const node_fs_1 = require("node:fs");
const os = __importStar(require("node:os"));
const path = __importStar(require("node:path"));
const node_events_1 = require("node:events");
const node_zlib_1 = require("node:zlib");
const csv_file_reader_1 = require("../src/mimic/csv-file-reader");
const mimic_to_fhir_converter_1 = require("../src/mimic/mimic-to-fhir.converter");
const CHILD_FLAG = '--mimic-to-fhir-bench-child';
const EVENT_TABLES = ['patients', 'admissions', 'diagnoses_icd', 'procedures_icd', 'prescriptions'];
const DICTIONARIES = ['d_icd_diagnoses', 'd_icd_procedures'];
/** Replica k adds k × OFFSET to every id column, so replicas never collide with MIMIC's 8-digit ids. */
const OFFSET = 100_000_000;
const ID_COLUMNS = new Set(['subject_id', 'hadm_id', 'pharmacy_id']);
function csvField(v) {
    for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        if (c === 44 || c === 34 || c === 10 || c === 13)
            return `"${v.split('"').join('""')}"`;
    }
    return v;
}
async function writeGzipLines(file, lines) {
    const gzip = (0, node_zlib_1.createGzip)({ level: 1 });
    const out = (0, node_fs_1.createWriteStream)(file);
    gzip.pipe(out);
    let batch = [];
    for (const line of lines) {
        batch.push(line);
        if (batch.length >= 5000) {
            if (!gzip.write(`${batch.join('\n')}\n`))
                await (0, node_events_1.once)(gzip, 'drain');
            batch = [];
        }
    }
    if (batch.length > 0)
        gzip.write(`${batch.join('\n')}\n`);
    gzip.end();
    await (0, node_events_1.once)(out, 'finish');
}
/** A copy of the demo's hosp tables with every patient replicated `scale` times under new ids. */
async function buildScaledMimicIv(demoDir, targetDir, scale) {
    const hosp = path.join(targetDir, 'hosp');
    await node_fs_1.promises.mkdir(hosp, { recursive: true });
    let rows = 0;
    for (const table of EVENT_TABLES) {
        const source = path.join(demoDir, 'hosp', `${table}.csv.gz`);
        let header = [];
        const data = [];
        await (0, csv_file_reader_1.streamCsvFile)(source, { header: (h) => { header = h; }, row: (f) => { data.push(f); } });
        const idCols = header.map((h, i) => (ID_COLUMNS.has(h) ? i : -1)).filter((i) => i >= 0);
        function* lines() {
            yield header.join(',');
            for (let k = 0; k < scale; k++) {
                for (const f of data) {
                    const copy = f.slice();
                    for (const i of idCols)
                        if (copy[i] !== '')
                            copy[i] = String(Number(copy[i]) + k * OFFSET);
                    yield copy.map(csvField).join(',');
                }
            }
        }
        await writeGzipLines(path.join(hosp, `${table}.csv.gz`), lines());
        rows += data.length * scale;
    }
    for (const d of DICTIONARIES)
        await node_fs_1.promises.copyFile(path.join(demoDir, 'hosp', `${d}.csv.gz`), path.join(hosp, `${d}.csv.gz`));
    return rows;
}
function runChild(source, out) {
    const args = [__filename, CHILD_FLAG, source, out];
    const pinned = (0, node_fs_1.existsSync)('/usr/bin/taskset');
    return new Promise((resolve, reject) => {
        (0, node_child_process_1.execFile)(pinned ? '/usr/bin/taskset' : process.execPath, pinned ? ['-c', '0', process.execPath, ...args] : args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
            if (error)
                return reject(new Error(`bench child failed: ${stderr.split('\n')[0] || error.message}`));
            resolve(JSON.parse(stdout.trim().split('\n').pop()));
        });
    });
}
async function runMimicToFhirBench() {
    const shared = process.env.LEADER_SHARED_DATA ?? path.resolve(__dirname, '..', '..', 'shared', 'data');
    const candidates = [path.join(shared, 'mimic-iv-demo-2.2'), path.resolve(__dirname, '..', '..', '..', 'shared', 'data', 'mimic-iv-demo-2.2')];
    const demo = candidates.find((d) => (0, node_fs_1.existsSync)(path.join(d, 'hosp', 'prescriptions.csv.gz')));
    if (!demo) {
        console.log('mimic-to-fhir: skipped (MIMIC-IV demo not found; set LEADER_SHARED_DATA)');
        return;
    }
    const scales = (process.env.MIMIC_BENCH_SCALES ?? '1,10').split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
    const tmp = await node_fs_1.promises.mkdtemp(path.join(os.tmpdir(), 'mimic-bench-'));
    try {
        console.log(`mimic-to-fhir (MIMIC-IV demo hosp tables replicated; child process per size${(0, node_fs_1.existsSync)('/usr/bin/taskset') ? ', pinned to 1 core' : ''})`);
        for (const scale of scales) {
            const source = path.join(tmp, `x${scale}`);
            await buildScaledMimicIv(demo, source, scale);
            const r = await runChild(source, path.join(tmp, `x${scale}-out`));
            const rate = Math.round(r.rows / r.seconds);
            const withDict = Math.round((r.rows + r.dictionaryRows) / r.seconds);
            console.log(`  ×${String(scale).padEnd(3)} ${String(r.rows).padStart(8)} source rows  ${r.seconds.toFixed(2).padStart(6)} s  ` +
                `${String(rate).padStart(7)} rows/s (${withDict} incl. ${r.dictionaryRows} ICD title rows)  peak RSS ${r.maxRssMiB.toFixed(0)} MiB  ` +
                `[${r.resources.MedicationRequest} MedicationRequest]`);
            await node_fs_1.promises.rm(source, { recursive: true, force: true });
            await node_fs_1.promises.rm(path.join(tmp, `x${scale}-out`), { recursive: true, force: true });
        }
        console.log('  goal: ≥ 200000 rows/s on one core; peak RSS should stay flat as the input grows');
    }
    finally {
        await node_fs_1.promises.rm(tmp, { recursive: true, force: true });
    }
}
async function child(source, out) {
    const started = process.hrtime.bigint();
    const result = await (0, mimic_to_fhir_converter_1.convertMimic)(source, out);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    let rows = 0;
    let dictionaryRows = 0;
    for (const [table, n] of Object.entries(result.rows)) {
        if (DICTIONARIES.includes(table))
            dictionaryRows += n;
        else
            rows += n;
    }
    const payload = { rows, dictionaryRows, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, resources: result.resources };
    process.stdout.write(`${JSON.stringify(payload)}\n`);
}
if (require.main === module) {
    if (process.argv[2] === CHILD_FLAG) {
        child(process.argv[3], process.argv[4]).catch((e) => {
            process.stderr.write(`${e.message}\n`);
            process.exitCode = 1;
        });
    }
    else {
        runMimicToFhirBench().catch((e) => {
            process.stderr.write(`${e.message}\n`);
            process.exitCode = 1;
        });
    }
}
//# sourceMappingURL=mimic-to-fhir.bench.js.map