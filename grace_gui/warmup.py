"""Import the engine's heavy libraries before the window shows.

A module import runs with Python's global lock held for long stretches (torch's and
torchvision's extension modules, Ultralytics' model zoo): done for the first time in a worker
it would freeze the GUI thread for a few hundred milliseconds in the middle of the user's work
(the first inference, the first Eigen-CAM). Done at start-up, the cost (about 2-3 s on two
cores) is paid once, before anything is on screen.
"""

from __future__ import annotations

import importlib

HEAVY_MODULES = (
    "torch",
    "torchvision",
    "ultralytics",
    "ultralytics.nn.tasks",
    "ultralytics.engine.predictor",
    "grace.infer.predictor",
    "grace.explain.cam",
)


def preload_engine() -> list[str]:
    """Import :data:`HEAVY_MODULES`; returns those that could not be imported (none normally)."""
    missing = []
    for name in HEAVY_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing
