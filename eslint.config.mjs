// @ts-check
/**
 * Lint and architecture rules (run by `npm run lint`, part of `npm test`).
 *
 * The architecture (style.md §6): src/ reads top to bottom, and a folder may import only itself and the
 * folders listed before it in LAYERS. The pure folders carry no framework, no model runtime, no network
 * and (but for terminology, which reads fhir-mappings/ once at load) no file I/O, so training and serving
 * share them as plain functions. Only src/config and src/cli read process.env.
 *
 * To add a folder: put its name into LAYERS. The edge surfaces built on the CDS service (src/ehr,
 * src/smart, src/subscriptions) form the EDGE group below cds-hooks: they may import everything above
 * (the one recommendation path lives in cds-hooks/serving), and the surfaces in one group do not import
 * one another. A file in a folder missing from LAYERS fails lint.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';

/** Edge surfaces that speak to EHRs; siblings, so none imports another. */
const EDGE = ['ehr', 'smart', 'subscriptions'];

/** Top to bottom; an inner array is a group of siblings. `types` holds ambient declarations only. */
const LAYERS = ['types', 'common', 'config', 'fhir', 'terminology', 'timeline', 'leader', 'inference', 'recommend',
  'cds-hooks', EDGE, 'health', 'mimic', 'teacher', 'training', 'cli'];

/** Packages and built-ins a pure folder must not import. */
const IMPURE = ['@nestjs/*', 'onnxruntime-node', 'node-llama-cpp', 'pino',
  'node:http', 'node:https', 'node:net', 'node:child_process', 'http', 'https', 'net', 'child_process'];
const FILE_IO = ['node:fs', 'node:fs/*', 'fs', 'fs/*'];
const PURE = {
  terminology: IMPURE,
  timeline: [...IMPURE, ...FILE_IO],
  leader: [...IMPURE, ...FILE_IO],
  recommend: [...IMPURE, ...FILE_IO],
};

/** Folders allowed to read process.env: the configuration readers and the CLI that hands it on. */
const ENV_READERS = ['src/config/**', 'src/cli/**'];

const folders = LAYERS.flat();
const importable = (/** @type {number} */ rank) => LAYERS.slice(0, rank).flat();

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'trainer/**', 'models/**', 'fhir-mappings/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Input sanitising matches control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read untyped JSON responses.
    files: ['test/**/*.ts', '**/*.spec.ts', '**/*.e2e-spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The layering, checked on the code that ships (specs beside it may reach into test/ and lower folders).
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    plugins: { boundaries },
    settings: {
      // src/*.ts (main, app module and factory) wire the whole service together.
      'boundaries/elements': folders.map((f) => ({ type: f, pattern: `src/${f}` })),
      'boundaries/files': [{ category: 'root', pattern: 'src/*.ts' }],
      'boundaries/dependency-nodes': ['import', 'export', 'dynamic-import', 'require'],
      'boundaries/include': ['src/**/*.ts'],
      'import/resolver': { typescript: { project: 'tsconfig.json' }, node: true },
    },
    rules: {
      // Policies apply in order and the last match decides: packages and built-ins are allowed, then each
      // folder's imports are limited to the folders above it, then the pure folders lose the impure packages.
      'boundaries/dependencies': ['error', {
        default: 'disallow',
        checkAllOrigins: true,
        policies: [
          { allow: { to: { module: { origin: ['external', 'core'] } } } },
          { from: { file: { categories: 'root' } }, allow: { to: [{ element: { type: folders } }, { file: { categories: 'root' } }] } },
          ...LAYERS.flatMap((entry, rank) => [entry].flat().map((f) => ({
            from: { element: { type: f } },
            allow: { to: { element: { type: [f, ...importable(rank)] } } },
          }))),
          ...Object.entries(PURE).map(([f, banned]) => ({
            from: { element: { type: f } },
            disallow: { to: { module: { source: banned } } },
            message: `src/${f} is pure: no framework, model runtime, network${f === 'terminology' ? '' : ' or file I/O'}; see PURE in eslint.config.mjs`,
          })),
        ],
      }],
      'boundaries/no-unknown-files': ['error'],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: [...ENV_READERS, 'src/**/*.spec.ts'],
    rules: {
      'no-restricted-properties': ['error', {
        object: 'process', property: 'env',
        message: 'Only src/config and src/cli read the environment; take the value as a parameter.',
      }],
    },
  },
);
