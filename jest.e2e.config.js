/**
 * End-to-end, adversarial and golden tier: the built CLI (dist/, so build first), training, ONNX parity, the HTTP
 * service, the golden files. Timeouts come from jest.config.js (sized for a machine five times slower).
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testRegex: 'test/(e2e/.*\\.e2e-spec|adversarial/.*\\.e2e-spec|golden/.*\\.spec)\\.ts$',
};
