"""Two CPU ranks (gloo): statistics are reduced so both ranks hold identical weights."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from grace.config import SamplerConfig
from grace.sampling.balancer import DSCBSM

CFG = SamplerConfig()
C = 4
COUNTS = [40, 30, 20, 10]
IMAGES = [np.array([i % C, (i * 3) % C]) for i in range(12)] + [np.array([], dtype=np.int64)]
DRAWS = 20_000


def local_batches(rank: int) -> list[tuple[torch.Tensor, ...]]:
    """Different data per rank: rank 0 sees only classes 0-2, rank 1 only classes 1-3."""
    gen = torch.Generator().manual_seed(100 + rank)
    out = []
    for _ in range(3):
        b, a = 2, 50
        logits = torch.randn(b, a, C, generator=gen) * 3
        labels = torch.randint(0, 3, (b, a), generator=gen) + rank
        fg = torch.rand(b, a, generator=gen) < 0.3
        align = torch.rand(b, a, generator=gen)
        scores = torch.nn.functional.one_hot(labels, C).float() * (align * fg).unsqueeze(-1)
        out.append((logits, scores, fg, labels))
    return out


def _worker(rank: int, world_size: int, store: str, out_dir: str) -> None:
    dist.init_process_group(
        "gloo",
        init_method=f"file://{store}",
        rank=rank,
        world_size=world_size,
        timeout=timedelta(seconds=60),
    )
    try:
        torch.set_num_threads(1)
        bal = DSCBSM(COUNTS, IMAGES, CFG, "cpu", rank=rank, world_size=world_size, seed=0)
        bal.set_epoch(10)
        updated = []
        for batch in local_batches(rank):
            bal.stats.observe(*batch)
        for _ in range(CFG.update_every):
            updated.append(bal.after_batch())
        shard = list(bal.sampler)
        bal.sampler.num_samples = DRAWS
        draws = np.fromiter(bal.sampler, dtype=np.int64)
        result = {
            "updated": updated,
            "snapshot": bal.snapshot(),
            "image_weights": bal.sampler.image_weights.tolist(),
            "shard": shard,
            "freq": (np.bincount(draws, minlength=len(IMAGES)) / DRAWS).tolist(),
        }
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def test_two_ranks_hold_identical_statistics_and_different_shards(tmp_path, monkeypatch):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    if "GLOO_SOCKET_IFNAME" not in os.environ and Path("/sys/class/net/lo").exists():
        monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")  # loopback only, inherited by the ranks
    mp.spawn(_worker, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())

    # single process observing the union of both ranks' batches
    ref = DSCBSM(COUNTS, IMAGES, CFG, "cpu")
    ref.set_epoch(10)
    for rank in (0, 1):
        for batch in local_batches(rank):
            ref.stats.observe(*batch)
    for _ in range(CFG.update_every):
        ref.after_batch()
    expected = ref.snapshot()

    for r in (r0, r1):
        assert r["updated"] == [False] * (CFG.update_every - 1) + [True]
        for key in ("g_ema", "c_ema", "w_dyn", "w_final"):
            np.testing.assert_allclose(r["snapshot"][key], expected[key], rtol=1e-5, err_msg=key)
        np.testing.assert_allclose(r["image_weights"], ref.sampler.image_weights, rtol=1e-5)
        # rank 0 never saw class 3 and rank 1 never saw class 0: both hold values for both
        assert r["snapshot"]["g_ema"][0] > 0 and r["snapshot"]["g_ema"][3] > 0
        assert r["snapshot"]["c_ema"][0] != 0.5 and r["snapshot"]["c_ema"][3] != 0.5
    # identical across ranks, bit for bit (same all-reduced sums on both)
    assert r0["snapshot"] == r1["snapshot"]
    assert r0["image_weights"] == r1["image_weights"]

    # different shards, each following the shared weights
    assert len(r0["shard"]) == len(r1["shard"]) == 7  # ceil(13 / 2)
    assert r0["shard"] != r1["shard"]
    p = np.asarray(ref.sampler.image_weights)
    p = p / p.sum()
    for r in (r0, r1):
        np.testing.assert_allclose(r["freq"], p, atol=0.012)
