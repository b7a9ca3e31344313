# Debian's torch uses GNU OpenMP, whose idle threads spin: on a loaded shared machine 2 spinning
# threads made each tiny training step ~40x slower (seconds instead of ~50 ms). Passive waiting
# must be chosen before torch (libgomp) is loaded, hence here, in the first module Python imports.
import os as _os

_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
