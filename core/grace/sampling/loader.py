"""The training loader of DS-CBSM++: Ultralytics' own loader with only the sampler swapped.

Ultralytics' ``build_dataloader`` decides workers per device, pinning, seeds and persistent
workers; it has no sampler argument. :func:`with_sampler` takes the loader it built (before its
first iteration, when no worker exists yet) and puts :class:`DynamicClassSampler` under its
batch sampler.

Reaction time. A PyTorch loader draws a batch's indices from the sampler when it hands the
batch to a worker, ``prefetch_factor`` batches per worker ahead of the training step: with
Ultralytics' 4 and 8 workers, new weights would govern only the 33rd batch after an update. Here
each worker holds one batch in flight (``prefetch_factor=1``), so every batch whose indices are
drawn after an update follows the new weights, and at most one batch per worker is already
drawn then. Loading keeps pace as long as a worker reads its batch in less than ``workers``
training steps, true for the default 8 workers on a GPU and always on a CPU.
"""

from __future__ import annotations

from torch.utils.data import BatchSampler

from grace.sampling.sampler import DynamicClassSampler

PREFETCH_PER_WORKER = 1


def with_sampler(loader, sampler: DynamicClassSampler):
    """Make ``loader`` (an Ultralytics ``InfiniteDataLoader``, not yet iterated) draw its
    batches from ``sampler``, one batch in flight per worker; returns ``loader``.

    Raises
    ------
    RuntimeError
        If the loader has started its workers already (its batches are drawn then).
    """
    if getattr(loader, "iterator", None) is not None:
        raise RuntimeError("the loader has started: swap its sampler before the first batch")
    repeat = loader.batch_sampler  # Ultralytics' _RepeatSampler around torch's BatchSampler
    batches = repeat.sampler
    repeat.sampler = BatchSampler(sampler, batches.batch_size, batches.drop_last)
    object.__setattr__(loader, "sampler", sampler)  # DataLoader forbids a plain assignment
    if loader.num_workers > 0:
        loader.prefetch_factor = PREFETCH_PER_WORKER
    return loader


def batches_drawn_ahead(loader) -> int:
    """How many batches a loader has drawn beyond the one the training step holds: the most
    batches that still follow the old weights after an update."""
    return max(loader.num_workers, 0) * (loader.prefetch_factor or 0)
