/** Unit tier: the specs beside the code and in test/support. No training, no built CLI, no service process. */
const base = require('./jest.config');

module.exports = {
  ...base,
  testRegex: '(src|test|bench)/.*\\.spec\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/golden/'],
  // A unit spec takes well under a second idle; five times slower still fits.
  testTimeout: 60_000,
};
