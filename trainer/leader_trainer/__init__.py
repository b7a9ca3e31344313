"""LEADER student trainer (PyTorch): reads a schema-1 dataset, trains, exports ONNX + manifest."""
import os as _os

# See trainer/__init__.py: passive OpenMP waiting, set before torch is imported.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
