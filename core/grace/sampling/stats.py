"""Per-class gradient and confidence statistics for DS-CBSM++, collected on the device.

:class:`ClassStatistics` accumulates, at the positive (assigned) anchors of every training
batch, the per-class sums of

* the magnitude of the classification-loss gradient ``|sigmoid(z_k) - t_k|`` (for BCE with
  logits this is exactly ``dL/dz_k`` of the element, before the loss normalisation), and
* the sigmoid confidence ``sigmoid(z_k)``, counted only where it is ``>= cfg.conf_min``,

where ``k`` is the anchor's assigned class, ``z`` the predicted class logits and ``t`` the
assigner's target scores. The sums stay on the training device (no host synchronisation per
batch); every ``cfg.update_every`` mini-batches :meth:`ClassStatistics.update` reduces them
across data-parallel ranks, turns them into per-class means and folds those into the EMAs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from grace.config import SamplerConfig

# Columns of the packed per-class accumulator.
_G_SUM, _G_CNT, _C_SUM, _C_CNT = range(4)

G_INIT = 0.0  # initial g_ema: no gradient signal yet
C_INIT = 0.0  # initial c_ema: a fresh detector is unconfident (see grace.config)


def _dist_world_size() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


@torch.no_grad()
def batch_class_sums(
    pred_logits: torch.Tensor,
    target_scores: torch.Tensor,
    fg_mask: torch.Tensor,
    target_labels: torch.Tensor | None,
    num_classes: int,
    conf_min: float,
    compact: bool,
) -> torch.Tensor:
    """Per-class sums of one mini-batch at its positive anchors: ``(C, 4)`` float32 columns
    ``sum |sigmoid(z) - t|``, ``count``, ``sum sigmoid(z)`` over confidences ``>= conf_min``,
    and their count (see :class:`ClassStatistics` for the shapes of the inputs).

    ``compact`` first selects the positive anchors (typically a few percent; a data-dependent
    size, cheap on the CPU); otherwise the sums stay dense and masked (no data-dependent shapes,
    no host synchronisation: the accelerator path). Both give the same sums.
    """
    c = num_classes
    if target_labels is None:
        target_labels = target_scores.argmax(-1)
    labels = target_labels.detach().reshape(-1).long()
    fg = fg_mask.detach().reshape(-1)
    logits = pred_logits.detach().reshape(-1, c)
    scores = target_scores.detach().reshape(-1, c)
    if compact:
        sel = fg.nonzero().squeeze(1)
        labels, logits, scores = labels[sel], logits[sel], scores[sel]
        w = torch.ones(sel.numel(), dtype=torch.float32, device=logits.device)
    else:
        w = fg.to(torch.float32)
    idx = labels.clamp(0, c - 1)
    p = logits.gather(1, idx.unsqueeze(1)).squeeze(1).float().sigmoid()
    t = scores.gather(1, idx.unsqueeze(1)).squeeze(1).float()
    conf = w * (p >= conf_min).to(torch.float32)
    vals = torch.stack(((p - t).abs() * w, w, p * conf, conf), dim=1)
    return torch.zeros(c, 4, dtype=torch.float32, device=vals.device).index_add_(0, idx, vals)


class ClassStatistics:
    """Running per-class EMAs of gradient magnitude (``g``) and confidence (``c``).

    Parameters
    ----------
    num_classes : int
        Number of classes C.
    cfg : SamplerConfig
        Supplies ``conf_min``, ``update_every`` and ``ema_decay``.
    device : torch.device or str
        Device of the accumulators; should be the device of the training tensors.

    Notes
    -----
    EMAs start at ``g = 0`` and ``c = 0``. Each of ``g`` and ``c`` has its own per-class
    *seen* flag: the first measured mean of a class replaces the initial value, later means are
    blended as ``ema = d * ema + (1 - d) * mean`` with ``d = cfg.ema_decay``. A class with no
    sample in an update window keeps its EMA unchanged. (``c`` can lack samples while ``g`` has
    some, when every confidence of that class was below ``conf_min``; hence two flags.)

    Under data parallelism every rank must call :meth:`step` the same number of times, because
    :meth:`update` runs one collective (``all_reduce``) that all ranks must join.
    """

    def __init__(self, num_classes: int, cfg: SamplerConfig, device: torch.device | str = "cpu"):
        if num_classes < 1:
            raise ValueError("num_classes must be >= 1")
        if cfg.update_every < 1:
            raise ValueError("cfg.update_every must be >= 1")
        self.num_classes = int(num_classes)
        self.cfg = cfg
        self.device = torch.device(device)
        self._sums = torch.zeros(self.num_classes, 4, dtype=torch.float32, device=self.device)
        self._g_ema = np.full(self.num_classes, G_INIT, dtype=np.float64)
        self._c_ema = np.full(self.num_classes, C_INIT, dtype=np.float64)
        self._seen_g = np.zeros(self.num_classes, dtype=bool)
        self._seen_c = np.zeros(self.num_classes, dtype=bool)
        self._batches = 0
        self.num_updates = 0

    # ------------------------------------------------------------------ accumulation
    @torch.no_grad()
    def observe(
        self,
        pred_logits: torch.Tensor,
        target_scores: torch.Tensor,
        fg_mask: torch.Tensor,
        target_labels: torch.Tensor | None = None,
    ) -> None:
        """Accumulate the statistics of one mini-batch into the on-device sums.

        On an accelerator this launches a handful of small kernels and never synchronises
        with the host; on the CPU it first selects the positive anchors (cheaper there).

        Parameters
        ----------
        pred_logits : torch.Tensor, shape (B, A, C)
            Class logits of every anchor (any float dtype; AMP fp16/bf16 allowed).
        target_scores : torch.Tensor, shape (B, A, C)
            Assigner targets (Ultralytics ``TaskAlignedAssigner``: one-hot of the assigned
            class scaled by the normalised alignment metric).
        fg_mask : torch.Tensor, shape (B, A), bool
            Positive (assigned) anchors.
        target_labels : torch.Tensor, shape (B, A), long, optional
            Assigned class of every anchor (values at negative anchors are ignored). If omitted,
            ``target_scores.argmax(-1)`` is used, which is only right where the target score of
            the assigned class is positive.
        """
        if pred_logits.shape[-1] != self.num_classes:
            raise ValueError(
                f"pred_logits has {pred_logits.shape[-1]} classes, expected {self.num_classes}"
            )
        sums = batch_class_sums(
            pred_logits,
            target_scores,
            fg_mask,
            target_labels,
            self.num_classes,
            self.cfg.conf_min,
            compact=pred_logits.device.type == "cpu",
        )
        self._sums += sums.to(self.device)

    # ------------------------------------------------------------------ cadence / update
    def step(self) -> bool:
        """Count one mini-batch; every ``cfg.update_every`` mini-batches run :meth:`update`.

        Returns
        -------
        bool
            True if an update happened at this call.
        """
        self._batches += 1
        if self._batches % self.cfg.update_every == 0:
            self.update()
            return True
        return False

    def update(self) -> None:
        """Reduce the sums across ranks, fold the per-class means into the EMAs, reset sums.

        This is the only method that synchronises with the host. With ``torch.distributed``
        initialised and a world size above 1, the packed (C, 4) accumulator is summed over all
        ranks with one ``all_reduce`` so that every rank ends with identical EMAs.
        """
        if _dist_world_size() > 1:
            dist.all_reduce(self._sums, op=dist.ReduceOp.SUM)
        host = self._sums.to("cpu").numpy().astype(np.float64)
        self._sums.zero_()
        d = self.cfg.ema_decay
        for col_sum, col_cnt, ema, seen in (
            (_G_SUM, _G_CNT, self._g_ema, self._seen_g),
            (_C_SUM, _C_CNT, self._c_ema, self._seen_c),
        ):
            cnt = host[:, col_cnt]
            has = cnt > 0
            mean = np.divide(host[:, col_sum], cnt, out=np.zeros_like(cnt), where=has)
            has &= np.isfinite(mean)
            blend = has & seen
            first = has & ~seen
            ema[blend] = d * ema[blend] + (1.0 - d) * mean[blend]
            ema[first] = mean[first]
            seen |= has
        self.num_updates += 1

    # ------------------------------------------------------------------ accessors
    @property
    def g_ema(self) -> np.ndarray:
        """EMA of the gradient magnitude per class (copy, float64, shape (C,))."""
        return self._g_ema.copy()

    @property
    def c_ema(self) -> np.ndarray:
        """EMA of the confidence per class (copy, float64, shape (C,))."""
        return self._c_ema.copy()

    @property
    def batches(self) -> int:
        """Mini-batches counted by :meth:`step` so far."""
        return self._batches

    def pending_sums(self) -> np.ndarray:
        """Current (C, 4) accumulator ``[g_sum, g_count, c_sum, c_count]`` (host copy; syncs).

        For tests and diagnostics only.
        """
        return self._sums.to("cpu").numpy().astype(np.float64)

    def state_dict(self) -> dict[str, Any]:
        """Plain-python state for resume (EMAs, seen flags, batch counter).

        The partial sums of the current update window are not saved: a checkpoint written by
        rank 0 could not represent the other ranks' partial sums anyway.
        """
        return {
            "num_classes": self.num_classes,
            "g_ema": self._g_ema.tolist(),
            "c_ema": self._c_ema.tolist(),
            "seen_g": self._seen_g.tolist(),
            "seen_c": self._seen_c.tolist(),
            "batches": self._batches,
            "num_updates": self.num_updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`state_dict`; the window's sums restart at 0."""
        if int(state["num_classes"]) != self.num_classes:
            raise ValueError(
                f"state has {state['num_classes']} classes, this instance {self.num_classes}"
            )
        self._g_ema = np.asarray(state["g_ema"], dtype=np.float64).copy()
        self._c_ema = np.asarray(state["c_ema"], dtype=np.float64).copy()
        self._seen_g = np.asarray(state["seen_g"], dtype=bool).copy()
        self._seen_c = np.asarray(state["seen_c"], dtype=bool).copy()
        self._batches = int(state.get("batches", 0))
        self.num_updates = int(state.get("num_updates", 0))
        self._sums.zero_()
