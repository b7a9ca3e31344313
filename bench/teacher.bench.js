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
exports.runTeacherBench = runTeacherBench;
/**
 * Teacher vs student cost, side by side: teacher features/s through node-llama-cpp (llama.cpp CPU,
 * threads 1 and 2) on a generated random-weight llama GGUF (2 layers, d=64: the tiny test model,
 * not a real LLM; a 7B teacher is ~10^5 × the weights) over LEADER prompts, next to the served
 * student's batch-1 inference time (onnxruntime-node, models/default) and both parameter counts.
 */
const node_fs_1 = require("node:fs");
const node_os_1 = require("node:os");
const path = __importStar(require("node:path"));
const student_batch_1 = require("../src/leader/tensors/student-batch");
const student_model_1 = require("../src/inference/student-model");
const train_launcher_1 = require("../src/training/train.launcher");
const llama_cpp_backend_1 = require("../src/teacher/llama-cpp.backend");
const teacher_command_1 = require("../src/cli/commands/teacher.command");
const tiny_gguf_1 = require("../test/support/tiny-gguf");
const tiny_teacher_dataset_1 = require("../test/support/tiny-teacher-dataset");
const student_bench_1 = require("./student.bench");
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
async function teacherRate(modelPath, prompts, threads) {
    const backend = await llama_cpp_backend_1.LlamaCppBackend.open({ modelPath, threads });
    try {
        await backend.embed(prompts.slice(0, 5)); // warm-up
        // Up to 200 features or ~3 s, whichever comes first (a busy shared CPU can make threads=2 very slow).
        const started = process.hrtime.bigint();
        const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
        let n = 0;
        while (n < 200 && (n < 5 || elapsed() < 3)) {
            await backend.embed([prompts[n % prompts.length]]);
            n++;
        }
        const seconds = elapsed();
        return { perSecond: n / seconds, msPerPrompt: (seconds * 1000) / n, parameters: backend.parameterCount, dim: backend.dim };
    }
    finally {
        await backend.close();
    }
}
async function studentCost(modelDir) {
    if (!(0, node_fs_1.existsSync)(path.join(modelDir, 'manifest.json')))
        return `no model at ${modelDir} (npm run train:default)`;
    const model = await student_model_1.StudentModel.load(modelDir, { intraOpNumThreads: 1 });
    try {
        const parity = JSON.parse(await node_fs_1.promises.readFile(path.join(modelDir, 'parity.json'), 'utf8'));
        const samples = (0, student_bench_1.samplesFromParity)(parity.cases.filter((c) => c.name.startsWith('batch-')));
        if (samples.length === 0)
            return `${modelDir}/parity.json has no batch case`;
        for (let i = 0; i < 20; i++)
            await model.predict((0, student_batch_1.buildStudentBatch)([samples[i % samples.length]]));
        const ms = [];
        for (let i = 0; i < 1000; i++) {
            const t = process.hrtime.bigint();
            await model.predict((0, student_batch_1.buildStudentBatch)([samples[i % samples.length]]));
            ms.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        ms.sort((a, b) => a - b);
        return { batch1Ms: ms[Math.floor(ms.length / 2)], parameters: model.manifest.parameters, name: model.manifest.name };
    }
    finally {
        await model.release();
    }
}
async function runTeacherBench(modelDir = process.env.LEADER_MODEL_DIR ?? path.join((0, train_launcher_1.packageRoot)(), 'models', 'default')) {
    console.log('\n== teacher (node-llama-cpp) vs student (onnxruntime-node) ==');
    const tmp = (0, node_fs_1.mkdtempSync)(path.join((0, node_os_1.tmpdir)(), 'teacher-bench-'));
    try {
        const golden = path.join((0, train_launcher_1.packageRoot)(), 'test', 'golden', 'dataset');
        const datasetDir = (0, node_fs_1.existsSync)(path.join(golden, 'manifest.json')) ? golden : (0, tiny_teacher_dataset_1.writeTinyTeacherDataset)(path.join(tmp, 'dataset'), { samples: 50 }).dir;
        const { prompts } = await (0, teacher_command_1.readTeacherPrompts)(datasetDir);
        const meanChars = prompts.reduce((s, p) => s + p.prompt.length, 0) / prompts.length;
        const gguf = (0, tiny_gguf_1.writeTinyGguf)(path.join(tmp, 'tiny.gguf'), { seed: 1, layers: 2, dim: 64, contextLength: 2048 });
        console.log(`teacher: tiny random-weight llama GGUF (2 layers, d=64, ${gguf.vocabSize}-token SPM vocab), ${prompts.length} prompts from ${datasetDir} (mean ${fmt(meanChars, 0)} chars), last-token features`);
        const rates = {};
        for (const threads of [1, 2]) {
            rates[threads] = await teacherRate(gguf.path, prompts.map((p) => p.prompt), threads);
            console.log(`  threads ${threads}: ${fmt(rates[threads].perSecond, 1)} features/s (${fmt(rates[threads].msPerPrompt, 2)} ms/prompt)`);
        }
        const student = await studentCost(modelDir);
        const teacherParams = rates[1].parameters;
        console.log('');
        console.log(`${''.padEnd(34)}${'parameters'.padStart(14)}${'time per patient'.padStart(22)}`);
        console.log(`${'teacher (tiny GGUF, 1 thread)'.padEnd(34)}${teacherParams.toLocaleString('en-US').padStart(14)}${`${fmt(rates[1].msPerPrompt, 3)} ms (feature)`.padStart(22)}`);
        if (typeof student === 'string')
            console.log(`student: not measured: ${student}`);
        else {
            console.log(`${`student ${student.name} (batch 1)`.padEnd(34)}${student.parameters.inference.toLocaleString('en-US').padStart(14)}${`${fmt(student.batch1Ms, 3)} ms (probs)`.padStart(22)}`);
            console.log(`  student total parameters incl. training-only heads: ${student.parameters.total.toLocaleString('en-US')}; teacher/student inference parameters: ${fmt(teacherParams / student.parameters.inference, 2)}×`);
        }
        console.log('  LEADER(T) is LLaMA-7B (~6.7e9 parameters, 4096-d features); the tiny GGUF only exercises the code path.');
    }
    finally {
        (0, node_fs_1.rmSync)(tmp, { recursive: true, force: true });
    }
}
if (require.main === module) {
    runTeacherBench().catch((e) => {
        console.error(e);
        process.exitCode = 1;
    });
}
//# sourceMappingURL=teacher.bench.js.map