"""A weighted sampler that follows weight updates within an epoch.

``torch.utils.data.WeightedRandomSampler`` (and Ultralytics' own sampling) draws a whole epoch
of indices at once, so a weight change only takes effect one epoch later. DS-CBSM++ updates its
weights every few mini-batches, so :class:`DynamicClassSampler` draws lazily, ``chunk`` indices
at a time, from the *current* per-image weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

from grace.sampling.weights import IMAGE_RULES, flatten_image_classes, image_weights_flat


class DynamicClassSampler(Sampler[int]):
    """Sample image indices with replacement, in chunks, from current class-derived weights.

    Parameters
    ----------
    image_classes : sequence of int arrays
        For each dataset image, the class id of each of its instances.
    num_samples : int, optional
        Indices yielded per epoch *by this rank*; default ``ceil(N / world_size)``.
    rank, world_size : int
        Data-parallel position. Every rank samples the whole dataset with replacement from the
        same weights, with its own random stream, so shards differ but follow the same law.
    seed : int
        Base seed. The stream of one pass is seeded from ``(seed, epoch, rank, pass)``, where
        ``pass`` counts the passes (calls of ``iter``) since the last :meth:`set_epoch`; runs
        are therefore reproducible, and a data loader that starts the next pass before
        ``set_epoch`` is called still gets a fresh stream.
    chunk : int
        Indices drawn per ``torch.multinomial`` call. A weight update becomes visible at the
        next chunk boundary (plus whatever the data loader has already prefetched).
    rule : {"mean", "max"}
        How an image's weight follows from its instances' class weights
        (see :func:`grace.sampling.weights.image_weights`).

    Notes
    -----
    Until :meth:`set_class_weights` is called all images have weight 1 (uniform sampling).
    Iterate in the process that calls :meth:`set_class_weights` (the data loader's main
    process does); the current weights are read at every chunk.
    """

    def __init__(
        self,
        image_classes: Sequence[np.ndarray],
        num_samples: int | None = None,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        chunk: int = 16,
        rule: str = "mean",
    ):
        if len(image_classes) == 0:
            raise ValueError("image_classes is empty")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"invalid rank {rank} for world_size {world_size}")
        if chunk < 1:
            raise ValueError("chunk must be >= 1")
        if rule not in IMAGE_RULES:
            raise ValueError(f"rule must be one of {IMAGE_RULES}, got {rule!r}")
        self._labels, self._lengths = flatten_image_classes(image_classes)
        self.num_images = int(self._lengths.size)
        self.num_samples = (
            math.ceil(self.num_images / world_size) if num_samples is None else int(num_samples)
        )
        if self.num_samples < 0:
            raise ValueError("num_samples must be >= 0")
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.seed = int(seed)
        self.chunk = int(chunk)
        self.rule = rule
        self.epoch = 0
        self._passes = 0
        self._weights = torch.ones(self.num_images, dtype=torch.float64)

    def set_class_weights(self, class_weights: np.ndarray) -> None:
        """Set the per-class weights; the next chunk drawn uses the new per-image weights.

        Parameters
        ----------
        class_weights : array_like, shape (C,)
            Positive finite weight of each class.
        """
        w = image_weights_flat(class_weights, self._labels, self._lengths, self.rule)
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("image weights must be finite, non-negative and not all zero")
        # Rebind (never mutate in place): a running iterator picks the new tensor up at its
        # next chunk and never sees a half-written one.
        self._weights = torch.from_numpy(w)

    @property
    def image_weights(self) -> np.ndarray:
        """Current per-image sampling weights (copy, shape (N,))."""
        return self._weights.numpy().copy()

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of ``epoch`` (call at every epoch start)."""
        self.epoch = int(epoch)
        self._passes = 0

    def _generator(self) -> torch.Generator:
        ss = np.random.SeedSequence([self.seed, self.epoch, self.rank, self._passes])
        hi, lo = ss.generate_state(2, dtype=np.uint32)
        g = torch.Generator()
        g.manual_seed((int(hi) << 31) ^ int(lo))  # < 2**63
        return g

    def __iter__(self) -> Iterator[int]:
        gen = self._generator()  # seeded now, not at the first next()
        self._passes += 1
        return self._draw(gen)

    def _draw(self, gen: torch.Generator) -> Iterator[int]:
        remaining = self.num_samples
        while remaining > 0:
            n = min(self.chunk, remaining)
            idx = torch.multinomial(self._weights, n, replacement=True, generator=gen)
            yield from idx.tolist()
            remaining -= n

    def __len__(self) -> int:
        return self.num_samples
