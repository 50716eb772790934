"""``grace compare``: one table across run directories (paper Tables 1 and 2 layout), every Δ
with a paired-bootstrap 95 % interval over the validation images (:mod:`grace.eval.bootstrap`),
and the seeds of one variant aggregated (:mod:`grace.eval.seeds`)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from grace.errors import GraceError
from grace.eval.bootstrap import (
    BOOTSTRAP_METRICS,
    CONFIDENCE_LEVEL,
    delta_intervals,
    match_run,
    metric_samples,
    point_metrics,
    resample_weights,
)
from grace.eval.pairing import align_runs, read_predictions
from grace.eval.runs import METRIC_KEYS, RunSummary, load_runs
from grace.eval.seeds import aggregate, seed_groups, seed_identity
from grace.eval.tables import csv_text, deltas, markdown, pp
from grace.fileio import atomic_write_text

MARKDOWN_FILE = "compare.md"
CSV_FILE = "compare.csv"
DEFAULT_RESAMPLES = 1000
MIN_RESAMPLES = 1000
BOOTSTRAP_RULE = (
    "paired bootstrap over the validation images: {resamples} resamples of the {images} images "
    "with replacement (numpy default_rng seed {seed}), every run recomputed on the same "
    "resample from its predictions.npz with grace val's matching and AP; the interval is the "
    "2.5-97.5 percentile of the resampled Δ; 'not distinguishable' when it contains 0. For "
    "seeds of one variant, the resampled figure is the mean over its seeds"
)


def _bootstrap(runs: list[RunSummary], resamples: int, seed: int, problems: list[str]):
    """Per run: its point figures and resampled figures (None without predictions.npz)."""
    have = [i for i, r in enumerate(runs) if r.predictions]
    for r in runs if len(runs) > 1 else []:  # one run: no Δ, nothing missing
        if not r.predictions:
            problems.append(
                f"{r.name}: no predictions.npz beside its metrics (re-run grace val): its Δ has "
                "no interval"
            )
    if not have or have[0] != 0 or len(have) < 2:
        return None, [None] * len(runs), [None] * len(runs)
    loaded = [read_predictions(runs[i].predictions) for i in have]
    aligned = align_runs([runs[i].name for i in have], loaded, [runs[i].predictions for i in have])
    nc = len(loaded[0][1])
    n_images = len(aligned[0])
    weights = resample_weights(n_images, resamples, seed)
    points: list[np.ndarray | None] = [None] * len(runs)
    samples: list[np.ndarray | None] = [None] * len(runs)
    for i, records in zip(have, aligned, strict=True):
        m = match_run(records, nc)
        points[i], samples[i] = point_metrics(m), metric_samples(m, weights)
    info = {
        "resamples": resamples,
        "seed": seed,
        "images": n_images,
        "level": CONFIDENCE_LEVEL,
        "metrics": list(BOOTSTRAP_METRICS),
        "rule": BOOTSTRAP_RULE.format(resamples=resamples, images=n_images, seed=seed),
    }
    return info, points, samples


def _intervals(ref: list[int], other: list[int], points, samples) -> dict[str, dict] | None:
    if any(points[i] is None for i in (*ref, *other)):
        return None

    def mean(a, idx):
        return np.mean([a[i] for i in idx], axis=0)

    ivs = delta_intervals(mean(points, ref), mean(points, other), mean(samples, ref),
                          mean(samples, other))  # fmt: skip
    return {k: asdict(v) for k, v in ivs.items()}


def _aggregates(runs: list[RunSummary], points, samples, problems: list[str]) -> list[dict]:
    identities = [seed_identity(r.name, r.variant, r.args) for r in runs]
    groups, group_problems = seed_groups(identities)
    problems.extend(group_problems)
    ref = next((g.members for g in groups if 0 in g.members), [0])
    out = []
    for g in groups:
        agg = {k: aggregate([runs[i].metrics.get(k) for i in g.members]) for k in METRIC_KEYS}
        is_ref = g.members == ref
        ref_means = {k: aggregate([runs[i].metrics.get(k) for i in ref]).mean for k in METRIC_KEYS}
        out.append(
            {
                "label": g.label,
                "variant": runs[g.members[0]].variant,
                "runs": [runs[i].name for i in g.members],
                "seeds": g.seeds,
                "reference": is_ref,
                "metrics": {k: asdict(a) for k, a in agg.items()},
                "delta": {} if is_ref else {k: pp(agg[k].mean, ref_means[k]) for k in METRIC_KEYS},
                "intervals": None if is_ref else _intervals(ref, g.members, points, samples),
            }
        )
    return out


def compare(
    paths: list[str | Path],
    out: str | Path | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """Compare runs; the first is the reference of every Δ.

    Parameters
    ----------
    paths
        Run directories (``grace train`` output), or ``grace val --out`` directories.
    out
        If given, ``compare.md`` and ``compare.csv`` are written there.
    resamples
        Bootstrap resamples (at least :data:`MIN_RESAMPLES`).
    seed
        Seed of the resampling (the same seed gives the same intervals).

    Returns
    -------
    dict
        ``reference`` (first run's name), ``runs`` (each with ``metrics``, ``size``,
        ``per_class`` as fractions, ``parameters``, ``latency_ms``, ``source``, ``problems``,
        ``delta`` in percentage points and ``intervals``: per metric of
        :data:`~grace.eval.bootstrap.BOOTSTRAP_METRICS` the Δ, its 95 % interval and verdict,
        None for the reference or a run without predictions.npz), ``aggregates`` (seeds of one
        variant: mean, sd, n per metric, Δ of the means and its interval), ``bootstrap`` (the
        settings and rule, None when no interval could be computed), ``markdown``, ``csv``,
        ``files`` (paths written) and ``problems``.

    Raises
    ------
    GraceError
        One line: no run, a missing run, too few resamples, or runs evaluated on different
        images, classes or protocols.
    """
    if not paths:
        raise GraceError("compare: give at least one run directory")
    if resamples < MIN_RESAMPLES:
        raise GraceError(f"--resamples {resamples}: at least {MIN_RESAMPLES} for a 95 % interval")
    runs = load_runs(list(paths))
    problems: list[str] = []
    info, points, samples = _bootstrap(runs, resamples, seed, problems)
    intervals = [None] + [_intervals([0], [i], points, samples) for i in range(1, len(runs))]
    aggregates = _aggregates(runs, points, samples, problems)
    md = markdown(runs, intervals, aggregates, info)
    table = csv_text(runs, intervals, aggregates)
    files: dict[str, str] = {}
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise GraceError(f"{out}: output path exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / MARKDOWN_FILE, md)
        atomic_write_text(out / CSV_FILE, table)
        files = {"markdown": str(out / MARKDOWN_FILE), "csv": str(out / CSV_FILE)}
    return {
        "reference": runs[0].name,
        "runs": [
            {**{k: v for k, v in asdict(r).items() if k != "args"}, "delta": d, "intervals": iv}
            for r, d, iv in zip(runs, deltas(runs), intervals, strict=True)
        ],
        "aggregates": aggregates,
        "bootstrap": info,
        "markdown": md,
        "csv": table,
        "files": files,
        "problems": [p for r in runs for p in r.problems] + problems,
    }
