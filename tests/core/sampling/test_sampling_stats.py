"""ClassStatistics on tiny hand-built batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from grace.config import SamplerConfig
from grace.sampling.stats import C_INIT, ClassStatistics, batch_class_sums

CFG = SamplerConfig()


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def make_batch(rows):
    """rows: (fg, label, logit of label, target of label) per anchor; B = 1, C = 3."""
    a, c = len(rows), 3
    logits = torch.full((1, a, c), -3.0)
    scores = torch.zeros(1, a, c)
    fg = torch.zeros(1, a, dtype=torch.bool)
    labels = torch.zeros(1, a, dtype=torch.long)
    for i, (is_fg, k, z, t) in enumerate(rows):
        logits[0, i, k] = z
        scores[0, i, k] = t if is_fg else 0.0
        fg[0, i] = is_fg
        labels[0, i] = k
    return logits, scores, fg, labels


# anchor 0: class 0, p = 0.5, t = 0.8  -> g = 0.3, conf 0.5 counted
# anchor 1: class 2, p = sig(2), t = 0.6 -> g = sig(2) - 0.6, conf counted
# anchor 2: background (label 1, huge logit): must be ignored entirely
# anchor 3: class 0, p = sig(-6) ~ 0.00247 < 0.01 -> g counted, conf NOT counted
ROWS = [(True, 0, 0.0, 0.8), (True, 2, 2.0, 0.6), (False, 1, 5.0, 0.0), (True, 0, -6.0, 0.5)]


def expected_sums():
    return np.array(
        [
            [0.3 + (0.5 - sig(-6.0)), 2, 0.5, 1],
            [0, 0, 0, 0],
            [sig(2.0) - 0.6, 1, sig(2.0), 1],
        ]
    )


def test_observe_sums_and_conf_filter():
    st = ClassStatistics(3, CFG, "cpu")
    st.observe(*make_batch(ROWS))
    np.testing.assert_allclose(st.pending_sums(), expected_sums(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("compact", [True, False], ids=["compact", "dense"])
def test_both_accumulation_paths_give_the_hand_computed_sums(compact):
    # "dense" is the masked path used on accelerators (no data-dependent shapes)
    sums = batch_class_sums(*make_batch(ROWS), 3, CFG.conf_min, compact=compact)
    np.testing.assert_allclose(sums.numpy(), expected_sums(), rtol=1e-6, atol=1e-7)


def test_observe_accumulates_and_accepts_half_precision_and_grad_inputs():
    st = ClassStatistics(3, CFG, "cpu")
    logits, scores, fg, labels = make_batch(ROWS)
    st.observe(logits.half().requires_grad_(), scores.half(), fg, labels)
    st.observe(logits.bfloat16(), scores.bfloat16(), fg, labels)
    sums = st._sums
    assert sums.dtype == torch.float32 and not sums.requires_grad
    np.testing.assert_allclose(st.pending_sums(), 2 * expected_sums(), rtol=1e-2, atol=1e-3)


def test_observe_without_labels_uses_argmax_of_target_scores():
    st = ClassStatistics(3, CFG, "cpu")
    logits, scores, fg, _ = make_batch(ROWS)
    st.observe(logits, scores, fg)
    np.testing.assert_allclose(st.pending_sums(), expected_sums(), rtol=1e-6, atol=1e-7)


def test_observe_rejects_wrong_class_count():
    st = ClassStatistics(4, CFG, "cpu")
    with pytest.raises(ValueError):
        st.observe(*make_batch(ROWS))


def test_update_cadence_of_twenty():
    st = ClassStatistics(3, CFG, "cpu")
    fired = [st.step() for _ in range(60)]
    assert [i + 1 for i, f in enumerate(fired) if f] == [20, 40, 60]
    assert st.num_updates == 3


def test_ema_first_value_replaces_then_decays():
    st = ClassStatistics(3, CFG, "cpu")
    np.testing.assert_array_equal(st.g_ema, [0, 0, 0])
    np.testing.assert_array_equal(st.c_ema, [C_INIT] * 3)

    # window 1: the ROWS batch, observed over 19 steps without an update, then the 20th
    st.observe(*make_batch(ROWS))
    assert not any(st.step() for _ in range(19))
    np.testing.assert_array_equal(st.g_ema, [0, 0, 0])  # nothing folded in yet
    assert st.step()
    g0_1 = (0.3 + 0.5 - sig(-6.0)) / 2
    g2_1 = sig(2.0) - 0.6
    np.testing.assert_allclose(st.g_ema, [g0_1, 0.0, g2_1], rtol=1e-6)
    np.testing.assert_allclose(st.c_ema, [0.5, C_INIT, sig(2.0)], rtol=1e-6)  # class 1 unseen
    np.testing.assert_array_equal(st.pending_sums(), np.zeros((3, 4)))  # reset

    # window 2 (two batches): class 0 p = sig(1), t = 0.2 and p = sig(-1), t = 0.9;
    # class 1 appears for the first time: p = sig(0.5), t = 0.4
    st.observe(*make_batch([(True, 0, 1.0, 0.2), (True, 1, 0.5, 0.4)]))
    st.observe(*make_batch([(True, 0, -1.0, 0.9)]))
    for _ in range(20):
        st.step()
    g0_2 = ((sig(1.0) - 0.2) + (0.9 - sig(-1.0))) / 2
    c0_2 = (sig(1.0) + sig(-1.0)) / 2  # = 0.5
    d = 0.9
    np.testing.assert_allclose(
        st.g_ema,
        [d * g0_1 + (1 - d) * g0_2, sig(0.5) - 0.4, g2_1],  # class 1 replaced, class 2 kept
        rtol=1e-6,
    )
    np.testing.assert_allclose(st.c_ema, [d * 0.5 + (1 - d) * c0_2, sig(0.5), sig(2.0)], rtol=1e-6)


def test_conf_seen_flag_separate_from_grad():
    # only a sub-threshold confidence for class 0: g gets a value, c keeps its init
    st = ClassStatistics(3, CFG, "cpu")
    st.observe(*make_batch([(True, 0, -8.0, 0.7)]))
    st.update()
    np.testing.assert_allclose(st.g_ema, [0.7 - sig(-8.0), 0, 0], rtol=1e-6)
    np.testing.assert_allclose(st.c_ema, [C_INIT] * 3)
    # the first counted confidence then replaces the init rather than blending with it
    st.observe(*make_batch([(True, 0, 1.0, 0.7)]))
    st.update()
    np.testing.assert_allclose(st.c_ema[0], sig(1.0), rtol=1e-6)
    st.observe(*make_batch([(True, 0, 2.0, 0.7)]))
    st.update()
    np.testing.assert_allclose(st.c_ema[0], 0.9 * sig(1.0) + 0.1 * sig(2.0), rtol=1e-6)


def test_state_dict_roundtrip():
    st = ClassStatistics(3, CFG, "cpu")
    st.observe(*make_batch(ROWS))
    for _ in range(25):
        st.step()
    state = st.state_dict()
    other = ClassStatistics(3, CFG, "cpu")
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.g_ema, st.g_ema)
    np.testing.assert_array_equal(other.c_ema, st.c_ema)
    assert other.batches == 25 and other.state_dict() == state
    with pytest.raises(ValueError):
        ClassStatistics(4, CFG, "cpu").load_state_dict(state)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_observe_does_not_synchronise_on_cuda():
    st = ClassStatistics(3, CFG, "cuda")
    batch = [t.cuda() for t in make_batch(ROWS)]
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        st.observe(*batch)
        st.step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    np.testing.assert_allclose(st.pending_sums(), expected_sums(), rtol=1e-5, atol=1e-6)


def test_no_positive_anchor_adds_nothing():
    st = ClassStatistics(3, CFG, "cpu")
    st.observe(*make_batch([(False, 1, 2.0, 0.0), (False, 0, 1.0, 0.0)]))
    np.testing.assert_array_equal(st.pending_sums(), np.zeros((3, 4)))


@pytest.mark.parametrize("compact", [True, False], ids=["compact", "dense"])
def test_random_batch_matches_anchor_loop(compact):
    gen = torch.Generator().manual_seed(0)
    b, a, c = 2, 30, 4
    logits = torch.randn(b, a, c, generator=gen) * 4
    labels = torch.randint(0, c, (b, a), generator=gen)
    fg = torch.rand(b, a, generator=gen) < 0.4
    scores = torch.nn.functional.one_hot(labels, c).float() * torch.rand(b, a, 1, generator=gen)
    sums = batch_class_sums(logits, scores, fg, labels, c, CFG.conf_min, compact=compact)
    ref = np.zeros((c, 4))
    for i in range(b):
        for j in range(a):
            if fg[i, j]:
                k = int(labels[i, j])
                p = sig(float(logits[i, j, k]))
                ref[k, 0] += abs(p - float(scores[i, j, k]))
                ref[k, 1] += 1
                if p >= 0.01:
                    ref[k, 2] += p
                    ref[k, 3] += 1
    assert ref[:, 1].sum() > 10 and ref[:, 3].sum() < ref[:, 1].sum()  # filter was exercised
    np.testing.assert_allclose(sums.numpy(), ref, rtol=1e-5, atol=1e-6)
