// onnxruntime-node 1.20.1 ships no .d.ts; its API is onnxruntime-common's (it re-exports it).
declare module 'onnxruntime-node' {
  export * from 'onnxruntime-common';
}
