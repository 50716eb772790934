"""Runs of one variant trained with different seeds: which belong together, and their mean ± sd
(pure; no I/O).

A run's seed identity is, in this order: its name when it ends in ``-seed<N>`` (as
``experiments/neu_det_ablation.py`` names runs: ``grace-seed1`` is seed 1 of ``grace``); else its
variant (``grace.json``) with the ``seed`` of its ``args.yaml``, where the other training
settings must agree (two runs of one variant with different epochs are not seeds of one
experiment). Runs with the same identity and distinct seeds form a group; groups of two or more
runs are aggregated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SEED_NAME = re.compile(r"^(?P<base>.+)-seed(?P<seed>\d+)$")
# args.yaml keys that differ between seeds of one experiment without changing it
RUN_SPECIFIC_ARGS = frozenset(
    {"seed", "name", "project", "save_dir", "exist_ok", "resume", "device", "workers", "plots"}
)  # fmt: skip


@dataclass(frozen=True)
class SeedIdentity:
    """``label`` (what the group is called), ``key`` (what must match), ``seed``."""

    label: str
    key: str
    seed: int


def seed_identity(
    name: str, variant: str | None, args: Mapping[str, Any] | None
) -> SeedIdentity | None:
    """The seed identity of one run (module rules); None when it has none."""
    m = SEED_NAME.match(name.rsplit("/", 1)[-1])
    if m:
        return SeedIdentity(m["base"], f"name:{m['base']}", int(m["seed"]))
    if variant and args and isinstance(args.get("seed"), int):
        rest = sorted((k, repr(v)) for k, v in args.items() if k not in RUN_SPECIFIC_ARGS)
        return SeedIdentity(variant, f"variant:{variant}:{rest}", int(args["seed"]))
    return None


@dataclass
class SeedGroup:
    """Runs (their indices in the comparison) that are seeds of one experiment."""

    label: str
    members: list[int]
    seeds: list[int]


def seed_groups(
    identities: Sequence[SeedIdentity | None],
) -> tuple[list[SeedGroup], list[str]]:
    """Groups of two or more runs sharing an identity key with distinct seeds, in order of their
    first run, and one problem line per key whose runs repeat a seed (not aggregated).

    Parameters
    ----------
    identities
        :func:`seed_identity` of each run, in comparison order.
    """
    by_key: dict[str, list[int]] = {}
    for i, ident in enumerate(identities):
        if ident is not None:
            by_key.setdefault(ident.key, []).append(i)
    groups, problems = [], []
    for members in by_key.values():
        if len(members) < 2:
            continue
        seeds = [identities[i].seed for i in members]  # type: ignore[union-attr]
        label = identities[members[0]].label  # type: ignore[union-attr]
        if len(set(seeds)) < len(seeds):
            problems.append(
                f"{label}: runs with the same seed ({', '.join(map(str, seeds))}) are not "
                "aggregated; give one run per seed"
            )
            continue
        groups.append(SeedGroup(label, members, seeds))
    return groups, problems


@dataclass
class Aggregate:
    """Mean, sample standard deviation (n − 1) and number of runs with a value, of one metric."""

    mean: float | None
    sd: float | None
    n: int
    values: list[float] = field(default_factory=list)


def aggregate(values: Sequence[float | None]) -> Aggregate:
    """:class:`Aggregate` of the known values (None is left out; sd needs two)."""
    known = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(known)
    if n == 0:
        return Aggregate(None, None, 0, [])
    mean = sum(known) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in known) / (n - 1)) if n > 1 else None
    return Aggregate(mean, sd, n, known)
