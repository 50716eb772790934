"""The detection loss, unchanged, with a tap that feeds DS-CBSM++ its per-class statistics.

Ultralytics' ``v8DetectionLoss`` computes the task-aligned assignment and the BCE of the class
logits inside one method. Rather than copy it, we wrap its two collaborators: the assigner (to
keep the assigned labels and the foreground mask) and the BCE (to keep the logits and targets).
After the normal loss is computed, the positives are handed to the statistics object, on the
device and without a host synchronisation.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn
from ultralytics.utils.loss import v8DetectionLoss


class StatisticsSink(Protocol):
    def observe(
        self,
        pred_logits: torch.Tensor,
        target_scores: torch.Tensor,
        fg_mask: torch.Tensor,
        target_labels: torch.Tensor,
    ) -> None: ...


class _Tap(nn.Module):
    """Calls ``inner`` and keeps its last inputs and output."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.args: tuple = ()
        self.out: Any = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self.args = args
        self.out = self.inner(*args, **kwargs)
        return self.out

    def clear(self) -> None:
        self.args, self.out = (), None


class StatsDetectionLoss(v8DetectionLoss):
    """``v8DetectionLoss`` that reports, per batch, logits/targets at the assigned anchors.

    Parameters
    ----------
    model
        The de-paralleled detection model (as for ``v8DetectionLoss``).
    sink
        Receives ``observe(pred_logits, target_scores, fg_mask, target_labels)`` after each loss.
    """

    def __init__(self, model: nn.Module, sink: StatisticsSink, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.sink = sink
        self.assigner = _Tap(self.assigner)
        self.bce = _Tap(self.bce)

    def get_assigned_targets_and_loss(
        self, preds: dict, batch: dict, **assign_kwargs: Any
    ) -> tuple:
        out = super().get_assigned_targets_and_loss(preds, batch, **assign_kwargs)
        target_labels, _, target_scores, fg_mask, _ = self.assigner.out
        pred_logits = self.bce.args[0]
        self.sink.observe(pred_logits.detach(), target_scores, fg_mask, target_labels)
        self.assigner.clear()
        self.bce.clear()
        return out


def install_statistics_tap(model: nn.Module, sink: StatisticsSink) -> StatsDetectionLoss:
    """Make ``model``'s loss (``model.criterion``, used by ``model(batch)``) the tapped loss that
    feeds ``sink``, as the trainer does when DS-CBSM++ is on (and ``grace bench`` measures).

    Parameters
    ----------
    model
        The de-paralleled detection model, with ``model.args`` (the loss gains) set.
    sink
        Usually the balancer's :class:`~grace.sampling.stats.ClassStatistics`.

    Returns
    -------
    StatsDetectionLoss
        The installed loss.
    """
    model.criterion = StatsDetectionLoss(model, sink)
    return model.criterion
