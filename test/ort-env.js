// Jest runs each test file in its own vm realm; onnxruntime-node compares typed arrays against the
// host's constructors, so share them (see ../shared/reference/toolchain.md §2).
const { TestEnvironment } = require('jest-environment-node');
class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of ['Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Int16Array', 'Uint16Array',
      'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array', 'ArrayBuffer', 'Uint8ClampedArray']) {
      this.global[name] = globalThis[name];
    }
  }
}
module.exports = OrtEnvironment;
