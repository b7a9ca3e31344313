#!/usr/bin/env node
/**
 * Compare binarisation rules on a finished `leader cv` folder without retraining (docs/experiments.md):
 * each fold's saved student (served path, onnxruntime-node) and a logistic regression refitted on the
 * same fold (same code and seed as `leader cv`) are binarised by every rule, each rule chosen on the
 * fold's validation patients for both models alike; prints pooled validation and test Jaccard and the
 * paired bootstrap interval of student − logistic regression. Run `npm run build` first.
 *   node scripts/threshold-rules.js CV_DIR [--seed 42]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const DIST = path.join(__dirname, '..', 'dist', 'src');
const need = (m) => require(path.join(DIST, m));

function fail(message) {
  console.error(`threshold-rules: ${message}`);
  process.exit(1);
}

async function main() {
  const args = process.argv.slice(2);
  const cvDir = args[0];
  const seedAt = args.indexOf('--seed');
  const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 42;
  if (!cvDir || cvDir.startsWith('--')) fail('usage: node scripts/threshold-rules.js CV_DIR [--seed 42]');
  if (!Number.isInteger(seed)) fail('--seed must be an integer');
  if (!fs.existsSync(path.join(DIST, 'cli', 'main.js'))) fail('dist/ not built (run npm run build)');
  const folds = fs.existsSync(cvDir) ? fs.readdirSync(cvDir).filter((d) => /^fold-\d+$/.test(d)).sort() : [];
  if (folds.length === 0) fail(`${cvDir}: no fold-<k>/ folders (a \`leader cv --out\` folder is expected)`);

  const { readDataset } = need('training/dataset.reader');
  const { StudentModel } = need('inference/student-model');
  const { scoreWithStudent } = need('training/evaluate');
  const { LogisticRegressionModel, DEFAULT_LR_OPTIONS, chooseThreshold, THRESHOLD_GRID } = need('training/baselines');
  const { sampleJaccard, sampleF1, thresholdPredictions, topKPredictions } = need('training/metrics');
  const { pairedBootstrap } = need('training/cross-validation');

  const fine = Array.from({ length: 91 }, (_, i) => Math.round(5 + i) / 100);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const byThreshold = (grid, score) => (p, y, M) => {
    const t = chooseThreshold(p, y, M, grid, score);
    return (q) => thresholdPredictions(q, M, t);
  };
  const byTopK = (p, y, M) => {
    let best = 1;
    let bestScore = -1;
    for (let k = 1; k <= Math.min(60, M); k++) {
      const pred = topKPredictions(p, M, k);
      const s = mean(y.map((t, i) => sampleJaccard(pred[i], t)));
      if (s > bestScore + 1e-12) [best, bestScore] = [k, s];
    }
    return (q) => topKPredictions(q, M, best);
  };
  const rules = {
    'max mean val F1, step 0.05 (current)': byThreshold(THRESHOLD_GRID, sampleF1),
    'max mean val Jaccard, step 0.05': byThreshold(THRESHOLD_GRID, sampleJaccard),
    'max mean val F1, step 0.01': byThreshold(fine, sampleF1),
    'max mean val Jaccard, step 0.01': byThreshold(fine, sampleJaccard),
    'top-k per sample, k max val Jaccard': byTopK,
  };
  const pooled = Object.fromEntries(Object.keys(rules).map((r) => [r, { student: { val: [], test: [] }, lr: { val: [], test: [] } }]));

  for (const fold of folds) {
    const ds = await readDataset(path.join(cvDir, fold, 'dataset'));
    const split = (name) => ds.samples.filter((s) => s.split === name);
    const [train, val, test] = [split('train'), split('val'), split('test')];
    const M = ds.vocab.labels.length;
    const model = await StudentModel.load(path.join(cvDir, fold, 'model'));
    let student;
    try {
      student = { val: await scoreWithStudent(model, val), test: await scoreWithStudent(model, test) };
    } finally {
      await model.release();
    }
    const lr = new LogisticRegressionModel({
      labelCount: M, tokenCount: ds.vocab.tokens.length, seed,
      profileSizes: ds.vocab.profileFields.map((f) => ds.vocab.profileValues(f).length),
    });
    lr.fit(train, DEFAULT_LR_OPTIONS);
    const scores = { student, lr: { val: lr.score(val), test: lr.score(test) } };
    const yVal = val.map((s) => s.labels);
    const yTest = test.map((s) => s.labels);
    for (const [name, rule] of Object.entries(rules)) {
      for (const m of ['student', 'lr']) {
        const binarise = rule(scores[m].val, yVal, M);
        const [pv, pt] = [binarise(scores[m].val), binarise(scores[m].test)];
        pooled[name][m].val.push(...yVal.map((t, i) => sampleJaccard(pv[i], t)));
        pooled[name][m].test.push(...yTest.map((t, i) => sampleJaccard(pt[i], t)));
      }
    }
    console.error(`${fold}: scored (${val.length} val / ${test.length} test patients)`);
  }

  const f = (x) => x.toFixed(4);
  console.log('rule (student and logistic regression alike) | val Jaccard student / LR | test Jaccard student / LR | student − LR test Jaccard [95 %]');
  for (const [name, r] of Object.entries(pooled)) {
    const ci = pairedBootstrap(r.student.test.map((x, i) => x - r.lr.test[i]), 2000, seed);
    console.log(`${name} | ${f(mean(r.student.val))} / ${f(mean(r.lr.val))} | ${f(mean(r.student.test))} / ${f(mean(r.lr.test))} | ${f(ci.mean)} [${f(ci.low)}, ${f(ci.high)}]`);
  }
  console.error(`scored ${folds.length} folds of ${cvDir}; wrote nothing`);
}

main().catch((e) => fail(String(e && e.message ? e.message : e).split('\n')[0]));
