"""Pure, seeded train/val split (the paper's rule; real runs were made on it, keep it exact).

The items, in the order given (sorted by file name by the importers), are shuffled with
``numpy.random.default_rng(seed).permutation`` and the first ``round(n * val_fraction)`` of the
permutation go to val, the rest to train.
"""

from __future__ import annotations

import numpy as np

from grace.errors import GraceError


def seeded_split(n: int, seed: int = 0, val_fraction: float = 0.2) -> list[str]:
    """``"train"`` or ``"val"`` for each of ``n`` items (see the module rule)."""
    if not 0 < val_fraction < 1:
        raise GraceError(f"--val-fraction must be between 0 and 1 (got {val_fraction})")
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    split = ["train"] * n
    for k, j in enumerate(order):
        if k < n_val:
            split[j] = "val"
    return split
