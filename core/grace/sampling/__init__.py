"""DS-CBSM++: dynamic class-balanced sampling driven by gradient and confidence feedback."""

from __future__ import annotations

from grace.sampling.balancer import DSCBSM
from grace.sampling.sampler import DynamicClassSampler
from grace.sampling.stats import ClassStatistics
from grace.sampling.weights import (
    base_weights,
    delta,
    dynamic_weights,
    final_weights,
    flatten_image_classes,
    gamma,
    image_weights,
    image_weights_flat,
    normalize,
)

__all__ = [
    "DSCBSM",
    "ClassStatistics",
    "DynamicClassSampler",
    "base_weights",
    "delta",
    "dynamic_weights",
    "final_weights",
    "flatten_image_classes",
    "gamma",
    "image_weights",
    "image_weights_flat",
    "normalize",
]
