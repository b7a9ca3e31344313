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
    // fhir-kit-client 2.x is ESM-only; the build loads it with a real import(), jest needs it as CJS.
    '^.+/node_modules/fhir-kit-client/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!fhir-kit-client/)'],
  moduleNameMapper: { '^fhir-kit-client$': '<rootDir>/node_modules/fhir-kit-client/dist/index.js' },
  // onnxruntime-node checks typed arrays against the host realm's constructors (toolchain.md §2).
  testEnvironment: '<rootDir>/test/ort-env.js',
  // Sized for a busy 2-core machine five times slower than an idle one.
  testTimeout: 600_000,
  maxWorkers: 2,
};
