/**
 * Every jest test (unit specs beside their files, test/e2e, test/golden): `npx jest path/to/file.spec.ts`.
 * The tiers that `npm test` runs are jest.unit.config.js and jest.e2e.config.js, built on this one.
 */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: '(src|test|bench)/.*\\.(spec|e2e-spec)\\.ts$',
  transform: {
    // TS151002: ts-jest's note that module node16 is "hybrid"; jest runs the specs as CommonJS either way.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  // onnxruntime-node checks typed arrays against the host realm's constructors (toolchain.md §2).
  testEnvironment: '<rootDir>/test/ort-env.js',
  // Sized for a busy 2-core machine five times slower than an idle one.
  testTimeout: 600_000,
  maxWorkers: 2,
};
