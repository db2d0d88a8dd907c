"""Model loading and generation: the only package that imports torch / transformers."""

import os

# A model is loaded (and warmed up) on a loader thread, then run on the engine's thread: two
# OpenMP thread teams. With OpenMP's default active waiting the idle team keeps spinning on the
# cores the busy one needs; on a 2-core machine that made CPU decoding about 10x slower.
# Passive waiting costs nothing measurable. It must be set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
