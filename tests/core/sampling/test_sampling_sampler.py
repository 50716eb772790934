"""DynamicClassSampler: follows the weights, and follows changes within one epoch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from grace.sampling.sampler import DynamicClassSampler

FOUR = [np.array([0]), np.array([1]), np.array([2]), np.array([3])]  # image i has class i
CHI2_3DOF_P001 = 16.27  # chi-square critical value, 3 degrees of freedom, p = 0.001


def chi2(counts: np.ndarray, probs: np.ndarray) -> float:
    expected = counts.sum() * probs
    return float(((counts - expected) ** 2 / expected).sum())


def test_len_and_default_num_samples():
    imgs = [np.array([0])] * 10
    assert len(DynamicClassSampler(imgs)) == 10
    assert len(DynamicClassSampler(imgs, rank=1, world_size=3)) == 4
    assert len(DynamicClassSampler(imgs, num_samples=7)) == 7
    assert len(list(DynamicClassSampler(imgs, num_samples=37, chunk=16))) == 37
    with pytest.raises(ValueError):
        DynamicClassSampler(imgs, rank=2, world_size=2)


def test_uniform_before_any_weights():
    s = DynamicClassSampler(FOUR)
    np.testing.assert_array_equal(s.image_weights, [1, 1, 1, 1])


def test_empirical_frequencies_follow_weights():
    s = DynamicClassSampler(FOUR, num_samples=40_000, seed=3)
    s.set_class_weights(np.array([1.0, 2.0, 3.0, 4.0]))
    counts = np.bincount(np.fromiter(s, dtype=np.int64), minlength=4)
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    assert chi2(counts, probs) < CHI2_3DOF_P001
    np.testing.assert_allclose(counts / counts.sum(), probs, atol=0.01)
    # and uniform weights would be rejected by the same test (the test can fail)
    assert chi2(counts, np.full(4, 0.25)) > 100


def test_weight_change_mid_epoch_affects_later_draws_of_same_pass():
    s = DynamicClassSampler(FOUR, num_samples=40_000, seed=1, chunk=16)
    s.set_class_weights(np.array([1.0, 2.0, 3.0, 4.0]))
    it = iter(s)
    first = np.fromiter(itertools.islice(it, 20_000), dtype=np.int64)  # 1250 whole chunks
    s.set_class_weights(np.array([4.0, 3.0, 2.0, 1.0]))
    second = np.fromiter(it, dtype=np.int64)
    assert second.size == 20_000
    c1 = np.bincount(first, minlength=4)
    c2 = np.bincount(second, minlength=4)
    assert chi2(c1, np.array([0.1, 0.2, 0.3, 0.4])) < CHI2_3DOF_P001
    assert chi2(c2, np.array([0.4, 0.3, 0.2, 0.1])) < CHI2_3DOF_P001


def test_weight_change_takes_effect_at_next_chunk():
    s = DynamicClassSampler(FOUR, num_samples=64, chunk=16)
    s.set_class_weights(np.array([1.0, 0.0, 0.0, 0.0]))  # only image 0
    it = iter(s)
    head = list(itertools.islice(it, 24))  # one and a half chunks
    s.set_class_weights(np.array([0.0, 0.0, 0.0, 1.0]))  # only image 3
    rest = list(it)
    assert head == [0] * 24
    assert rest == [0] * 8 + [3] * 32  # the chunk already drawn finishes, then new weights


def test_reproducible_and_distinct_streams():
    def draw(seed=0, rank=0, world_size=1, epoch=0):
        s = DynamicClassSampler(FOUR, num_samples=200, rank=rank, world_size=world_size, seed=seed)
        s.set_class_weights(np.array([1.0, 2.0, 3.0, 4.0]))
        s.set_epoch(epoch)
        return list(s)

    base = draw()
    assert base == draw()
    assert base != draw(seed=1)
    assert base != draw(rank=1, world_size=2)
    assert base != draw(epoch=1)

    s = DynamicClassSampler(FOUR, num_samples=200)
    s.set_epoch(5)
    e5a = list(s)
    e5b = list(s)  # a second pass without set_epoch: a fresh stream, not a repeat
    s.set_epoch(6)
    e6 = list(s)
    s.set_epoch(5)
    assert list(s) == e5a
    assert e5a != e5b and e5a != e6


def test_rejects_bad_weights():
    s = DynamicClassSampler(FOUR)
    with pytest.raises(ValueError):
        s.set_class_weights(np.zeros(4))
    with pytest.raises(ValueError):
        s.set_class_weights(np.array([1.0, np.nan, 1.0, 1.0]))


def test_rule_max_used_for_image_weights():
    imgs = [np.array([0, 1]), np.array([], dtype=np.int64)]
    s = DynamicClassSampler(imgs, rule="max")
    s.set_class_weights(np.array([0.9, 1.3]))
    np.testing.assert_allclose(s.image_weights, [1.3, 1.0])
