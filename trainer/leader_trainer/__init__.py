"""LEADER student trainer (PyTorch): reads a schema-1 dataset, trains, exports ONNX + manifest."""
