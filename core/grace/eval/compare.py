"""``grace compare``: one table across run directories (paper Tables 1 and 2 layout), every Δ
against a chosen reference and only within its protocol, with a paired-bootstrap 95 % interval
over the validation images (:mod:`grace.eval.bootstrap`), and the seeds of one variant
aggregated (:mod:`grace.eval.seeds`).

Runs evaluated by ``grace val`` under different protocols, or (with ``predictions.npz``) on
different images, are refused in one line. Rows from a training log (``events.jsonl``, protocol
``ultralytics (training)``) are never refused: they are shown with their protocol, without an
interval, and with a Δ only against a reference of that protocol."""

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
    drawn_seed_mean,
    match_run,
    metric_samples,
    point_metrics,
    resample_weights,
    seed_rngs,
)
from grace.eval.pairing import align_runs, read_predictions
from grace.eval.runs import METRIC_KEYS, RunSummary, load_runs, val_evaluated
from grace.eval.seeds import SeedIdentity, aggregate, seed_groups, seed_identity
from grace.eval.tables import csv_text, deltas, markdown, not_comparable, pp
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
    "seeds of one variant, each resample also draws the seeds with replacement and takes the "
    "mean over those drawn (a two-level bootstrap: the interval counts the run-to-run spread "
    "as well as the images)"
)


def _bootstrap(
    runs: list[RunSummary], reference: int, resamples: int, seed: int, problems: list[str]
):
    """Per run: its point figures and resampled figures (None without predictions.npz, or for
    every run when the reference has none: there is then no Δ to give an interval to).

    The runs with ``predictions.npz`` are paired image by image whichever run is the reference,
    so runs on different images, classes or protocols are refused the same way for any choice
    of reference (:func:`grace.eval.pairing.align_runs`).
    """
    none: list[np.ndarray | None] = [None] * len(runs)
    have = [i for i, r in enumerate(runs) if r.predictions]
    for r in runs if len(runs) > 1 else []:  # one run: no Δ, nothing missing
        if not r.predictions and val_evaluated(r):  # a training log has no grace val outputs
            problems.append(
                f"{r.name}: no predictions.npz beside its metrics (re-run grace val): its Δ has "
                "no interval"
            )
    if len(have) < 2:
        return None, none, list(none)
    if reference in have:  # pair in the reference's image order
        have = [reference] + [i for i in have if i != reference]
    loaded = [read_predictions(runs[i].predictions) for i in have]
    aligned = align_runs([runs[i].name for i in have], loaded, [runs[i].predictions for i in have])
    if have[0] != reference:
        return None, none, list(none)
    nc = len(loaded[0][1])
    n_images = len(aligned[0])
    weights = resample_weights(n_images, resamples, seed)
    points: list[np.ndarray | None] = list(none)
    samples: list[np.ndarray | None] = list(none)
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


def _intervals(
    ref: list[int], other: list[int], points, samples, seed: int
) -> dict[str, dict] | None:
    if any(points[i] is None for i in (*ref, *other)):
        return None

    def mean(a, idx):
        return np.mean([a[i] for i in idx], axis=0)

    rng_ref, rng_other = seed_rngs(seed)
    ivs = delta_intervals(mean(points, ref), mean(points, other),
                          drawn_seed_mean([samples[i] for i in ref], rng_ref),
                          drawn_seed_mean([samples[i] for i in other], rng_other))  # fmt: skip
    return {k: asdict(v) for k, v in ivs.items()}


def _seed_identity(run: RunSummary) -> SeedIdentity | None:
    """:func:`seed_identity` within the run's protocol: seeds measured under different
    protocols are never averaged together."""
    ident = seed_identity(run.name, run.variant, run.args)
    if ident is None:
        return None
    return SeedIdentity(ident.label, f"{run.protocol}|{ident.key}", ident.seed)


def _aggregates(
    runs: list[RunSummary], reference: int, points, samples, problems: list[str], seed: int
) -> list[dict]:
    groups, group_problems = seed_groups([_seed_identity(r) for r in runs])
    problems.extend(group_problems)
    ref = next((g.members for g in groups if reference in g.members), [reference])
    ref_run = runs[reference]
    ref_means = {k: aggregate([runs[i].metrics.get(k) for i in ref]).mean for k in METRIC_KEYS}
    out = []
    for g in groups:
        first = runs[g.members[0]]
        agg = {k: aggregate([runs[i].metrics.get(k) for i in g.members]) for k in METRIC_KEYS}
        is_ref = g.members == ref
        why = ""
        if not is_ref and not_comparable(first, ref_run):
            why = (
                f"no Δ: the seeds of {g.label} were measured with the {first.protocol} protocol, "
                f"the reference {ref_run.name} with {ref_run.protocol}"
            )
        comparable = not is_ref and not why
        out.append(
            {
                "label": g.label,
                "variant": first.variant,
                "protocol": first.protocol,
                "runs": [runs[i].name for i in g.members],
                "seeds": g.seeds,
                "reference": is_ref,
                "metrics": {k: asdict(a) for k, a in agg.items()},
                "delta": (
                    {k: pp(agg[k].mean, ref_means[k]) for k in METRIC_KEYS} if comparable else {}
                ),
                "not_comparable": why,
                "intervals": (
                    _intervals(ref, g.members, points, samples, seed) if comparable else None
                ),
            }
        )
    return out


def compare(
    paths: list[str | Path],
    out: str | Path | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    reference: int = 0,
) -> dict[str, Any]:
    """Compare runs against ``paths[reference]`` (the first unless chosen); a Δ only between
    runs of one protocol (:func:`grace.eval.tables.deltas`).

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
    reference
        Index in ``paths`` of the run every Δ is taken against.

    Returns
    -------
    dict
        ``reference`` (its name), ``reference_index``, ``runs`` (each with ``metrics``,
        ``size``, ``per_class`` as fractions, ``parameters``, ``latency_ms``, ``source``,
        ``protocol``, ``problems``, ``delta`` in percentage points, with
        ``delta["not_comparable"]`` saying why when the protocols differ, and ``intervals``: per
        metric of :data:`~grace.eval.bootstrap.BOOTSTRAP_METRICS` the Δ, its 95 % interval and
        verdict, None for the reference, a run without predictions.npz or of another protocol),
        ``aggregates`` (seeds of one variant and protocol: mean, sd, n per metric, Δ of the
        means and its interval, ``not_comparable`` when the reference's protocol differs),
        ``bootstrap`` (the settings and rule, None when no interval could be computed),
        ``markdown``, ``csv``, ``files`` (paths written) and ``problems``.

    Raises
    ------
    GraceError
        One line: no run, a missing run, a reference that is not one of the runs, too few
        resamples, or runs evaluated by grace val on different images, classes or protocols
        (figures from a training log are never refused).
    """
    if not paths:
        raise GraceError("compare: give at least one run directory")
    if not 0 <= reference < len(paths):
        raise GraceError(f"compare: reference {reference} is not one of the {len(paths)} runs")
    if resamples < MIN_RESAMPLES:
        raise GraceError(f"--resamples {resamples}: at least {MIN_RESAMPLES} for a 95 % interval")
    runs = load_runs(list(paths))
    problems: list[str] = []
    info, points, samples = _bootstrap(runs, reference, resamples, seed, problems)
    intervals = [
        None if i == reference else _intervals([reference], [i], points, samples, seed)
        for i in range(len(runs))
    ]
    aggregates = _aggregates(runs, reference, points, samples, problems, seed)
    md = markdown(runs, intervals, aggregates, info, reference=reference)
    table = csv_text(runs, intervals, aggregates, reference=reference)
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
        "reference": runs[reference].name,
        "reference_index": reference,
        "runs": [
            {**{k: v for k, v in asdict(r).items() if k != "args"}, "delta": d, "intervals": iv}
            for r, d, iv in zip(runs, deltas(runs, reference), intervals, strict=True)
        ],
        "aggregates": aggregates,
        "bootstrap": info,
        "markdown": md,
        "csv": table,
        "files": files,
        "problems": [p for r in runs for p in r.problems] + problems,
    }
