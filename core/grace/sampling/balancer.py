"""DS-CBSM++ controller: statistics -> class weights -> image sampler.

The trainer owns one :class:`DSCBSM`. Per mini-batch it calls
``balancer.stats.observe(...)`` inside the loss and :meth:`DSCBSM.after_batch` after the
optimiser step; at every epoch start it calls :meth:`DSCBSM.set_epoch`. The data loader uses
``balancer.sampler``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from grace.config import SamplerConfig
from grace.sampling.sampler import DynamicClassSampler
from grace.sampling.stats import ClassStatistics
from grace.sampling.weights import base_weights, dynamic_weights, final_weights, gamma


class DSCBSM:
    """Dynamic sampling with confidence-gradient balanced sampling (DS-CBSM++).

    Parameters
    ----------
    class_counts : array_like, shape (C,)
        Training instances per class (for ``f_c`` of equation 6).
    image_classes : sequence of int arrays
        For each training image, the class id of each of its instances.
    cfg : SamplerConfig
        All DS-CBSM++ constants.
    device : torch.device or str
        Device of the training tensors (where statistics accumulate).
    rank, world_size, seed, chunk
        Passed to :class:`DynamicClassSampler`.

    Attributes
    ----------
    stats : ClassStatistics
    sampler : DynamicClassSampler
    w_base, w_dyn, w_final : numpy.ndarray
        Current class weights (equations 6, 8, 10).
    """

    def __init__(
        self,
        class_counts: Sequence[float] | np.ndarray,
        image_classes: Sequence[np.ndarray],
        cfg: SamplerConfig,
        device: torch.device | str = "cpu",
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        chunk: int = 16,
    ):
        self.cfg = cfg
        self.w_base = base_weights(class_counts, cfg.eps)
        self.num_classes = int(self.w_base.size)
        self.stats = ClassStatistics(self.num_classes, cfg, device)
        self.sampler = DynamicClassSampler(
            image_classes,
            rank=rank,
            world_size=world_size,
            seed=seed,
            chunk=chunk,
            rule=cfg.image_rule,
        )
        self.epoch = 0
        self.gamma = 0.0
        self.w_dyn = self.w_base.copy()
        self.w_final = self.w_base.copy()
        self._recompute()

    def _recompute(self) -> None:
        self.gamma = gamma(self.epoch, self.cfg)
        self.w_dyn = dynamic_weights(self.w_base, self.stats.g_ema, self.stats.c_ema, self.cfg)
        self.w_final = final_weights(self.w_base, self.w_dyn, self.gamma)
        self.sampler.set_class_weights(self.w_final)

    def set_epoch(self, epoch: int) -> None:
        """Enter ``epoch`` (from 0): new gamma, new weights, new sampler stream."""
        self.epoch = int(epoch)
        self._recompute()
        self.sampler.set_epoch(self.epoch)

    def after_batch(self) -> bool:
        """Count a mini-batch; on an update, push the new weights into the sampler.

        Returns
        -------
        bool
            True if the statistics (and so the weights) were updated at this call.
        """
        updated = self.stats.step()
        if updated:
            self._recompute()
        return updated

    def snapshot(self) -> dict[str, Any]:
        """JSON-serialisable view of the current state (the ``sampler`` event)."""
        return {
            "epoch": self.epoch,
            "gamma": float(self.gamma),
            "w_base": self.w_base.tolist(),
            "w_dyn": self.w_dyn.tolist(),
            "w_final": self.w_final.tolist(),
            "g_ema": self.stats.g_ema.tolist(),
            "c_ema": self.stats.c_ema.tolist(),
        }

    def state_dict(self) -> dict[str, Any]:
        """Plain-python state for resume (statistics state and epoch)."""
        return {"epoch": self.epoch, "stats": self.stats.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output and recompute the weights."""
        self.stats.load_state_dict(state["stats"])
        self.set_epoch(int(state["epoch"]))
