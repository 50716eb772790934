"""Import the engine's heavy libraries before the window shows.

A module import runs with Python's global lock held for long stretches (torch's and
torchvision's extension modules, Ultralytics' model zoo): done for the first time in a worker
it would freeze the GUI thread for a few hundred milliseconds in the middle of the user's work
(the first inference, the first Eigen-CAM). Done at start-up, the cost (about 2-3 s on two
cores) is paid once, before anything is on screen.

Then the objects those imports made (millions: torch's operator tables, Ultralytics' modules) are
moved out of the garbage collector's way (``gc.freeze``). Otherwise every full collection walks
them all, a pause of ~100 ms with the GIL held wherever it happens: measured on the Dataset tab
scrolling 10,000 thumbnails, the longest GUI stall was 120-137 ms with the libraries loaded and
unfrozen, 28-30 ms frozen (the same as without them loaded).
"""

from __future__ import annotations

import gc
import importlib

HEAVY_MODULES = (
    "torch",
    "torchvision",
    "ultralytics",
    "ultralytics.nn.tasks",
    "ultralytics.engine.predictor",
    "grace.infer.predictor",
    "grace.explain.cam",
    "pytorch_grad_cam",  # the Eigen-CAM tab's maps: ~0.9 s more (scikit-learn, matplotlib)
)


def preload_engine() -> list[str]:
    """Import :data:`HEAVY_MODULES` and freeze what exists then out of the garbage collector's
    generations; returns the modules that could not be imported (none normally)."""
    missing = []
    for name in HEAVY_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    gc.collect()
    gc.freeze()
    return missing
