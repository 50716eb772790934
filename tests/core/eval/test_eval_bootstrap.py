"""One run's bootstrap intervals: hand-computed cases and the resampled list of images."""

from __future__ import annotations

import numpy as np
import pytest

from grace.eval.bootstrap import (
    match_run,
    percentile_interval,
    resample_weights,
    run_intervals,
    weighted_metrics,
)
from grace.eval.metrics import evaluate
from grace.eval.records import ImageRecord

BOX = [10.0, 10.0, 50.0, 50.0]


def _two_images() -> list[ImageRecord]:
    """Image 0: one GT box found at score 0.9; image 1: one GT box, no prediction."""
    return [
        ImageRecord("found.jpg", 100, 100, [BOX], [0], [BOX], [0.9], [0]),
        ImageRecord("missed.jpg", 100, 100, [BOX], [0]),
    ]


def test_weights_by_hand():
    run = match_run(_two_images(), nc=1)
    # both once: recall 1/2 at precision 1, so the envelope is 1 at the 51 recall points
    # 0, 0.01, ..., 0.50 and 0 above: AP = 51/101 at every IoU; F1 = 2*1/(1 + 2) = 2/3
    np.testing.assert_allclose(weighted_metrics(run, [1, 1]), [51 / 101, 51 / 101, 2 / 3])
    # the found image twice: recall 1 at precision 1, AP 1; F1 = 2*2/(2 + 2) = 1
    np.testing.assert_allclose(weighted_metrics(run, [2, 0]), [1.0, 1.0, 1.0])
    # the missed image twice: ground truth but no true positive: AP 0, F1 0
    np.testing.assert_allclose(weighted_metrics(run, [0, 2]), [0.0, 0.0, 0.0])
    # a batch gives the same rows
    np.testing.assert_allclose(
        weighted_metrics(run, np.array([[1, 1], [2, 0], [0, 2]])),
        [[51 / 101, 51 / 101, 2 / 3], [1, 1, 1], [0, 0, 0]],
    )


def test_two_image_interval_spans_the_draws():
    """With two images the resamples are (2,0), (1,1), (0,2) with probability 1/4, 1/2, 1/4:
    the 2.5 % and 97.5 % percentiles of 1,000 draws are 0 and 1."""
    iv = run_intervals(_two_images(), nc=1, resamples=1000, seed=3)
    assert iv["mAP50"].value == pytest.approx(51 / 101)
    assert (iv["mAP50"].low, iv["mAP50"].high) == (0.0, 1.0)
    assert (iv["f1_dataset"].low, iv["f1_dataset"].high) == (0.0, 1.0)
    assert iv["mAP50"].resamples == 1000 and iv["mAP50"].seed == 3


def _random_records(seed: int = 1, n: int = 30, nc: int = 3) -> list[ImageRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        g = int(rng.integers(0, 4))
        xy = rng.uniform(0, 80, (g, 2))
        gt = np.hstack([xy, xy + rng.uniform(5, 30, (g, 2))])
        gc = rng.integers(0, nc, g)
        extra = int(rng.integers(0, 6))
        fxy = rng.uniform(0, 80, (extra, 2))
        boxes = np.vstack([gt + rng.normal(0, 3, gt.shape), np.hstack([fxy, fxy + 20])])
        cls = np.concatenate([np.where(rng.random(g) < 0.8, gc, rng.integers(0, nc, g)),
                              rng.integers(0, nc, extra)])  # fmt: skip
        out.append(ImageRecord(f"i{i}.jpg", 100, 100, gt, gc, boxes, rng.random(len(cls)), cls))
    return out


def test_equals_evaluate_on_the_resampled_list():
    """Each resample's figures equal grace val's metrics on the list where image i is repeated
    w_i times (distinct scores, so no tie can reorder)."""
    recs = _random_records()
    run = match_run(recs, 3)
    m = evaluate(recs, ["a", "b", "c"])
    np.testing.assert_allclose(
        weighted_metrics(run, np.ones(len(recs))), [m.map50_95, m.map50, m.f1_dataset], atol=1e-12
    )
    w = resample_weights(len(recs), 8, seed=5)
    got = weighted_metrics(run, w)
    for b in range(len(w)):
        listed = [r for r, k in zip(recs, w[b], strict=True) for _ in range(int(k))]
        mm = evaluate(listed, ["a", "b", "c"])
        np.testing.assert_allclose(got[b], [mm.map50_95, mm.map50, mm.f1_dataset], atol=1e-12)


def test_resample_weights_and_seed():
    w = resample_weights(7, 50, seed=0)
    assert w.shape == (50, 7) and (w.sum(axis=1) == 7).all()
    assert (resample_weights(7, 50, seed=0) == w).all()
    assert not (resample_weights(7, 50, seed=1) == w).all()
    recs = _random_records(n=12)
    a, b = run_intervals(recs, 3, 1000, seed=0), run_intervals(recs, 3, 1000, seed=0)
    assert a == b
    for iv in a.values():
        assert iv.low <= iv.value <= iv.high


def test_percentile_interval_ignores_nan():
    s = np.r_[np.arange(101.0), np.nan]
    assert percentile_interval(s) == pytest.approx((2.5, 97.5))
    lo, hi = percentile_interval(np.array([np.nan]))
    assert np.isnan(lo) and np.isnan(hi)
