"""``python -m grace_gui.bench --stall``: the stall figures are produced (their values are
measurements, checked here only for what does not depend on the machine)."""

from __future__ import annotations

import pytest

from grace_gui.bench import parse_args
from grace_gui.bench_stall import TARGET_STALL_MS, review_stall, thumbnails_stall


def test_thumbnail_figures_of_a_small_grid(qtbot):
    r = thumbnails_stall(n=400, steps=4)
    assert set(r) == {"thumbnails_images", "thumbnails_open_s", "thumbnails_stall_ms",
                      "thumbnails_decoded", "thumbnails_ok"}  # fmt: skip
    assert r["thumbnails_images"] == 400
    assert 0 < r["thumbnails_decoded"] < 400  # only what was shown on 5 scroll positions
    assert all(isinstance(r[k], float) for k in ("thumbnails_stall_ms", "thumbnails_open_s"))
    assert r["thumbnails_ok"] == (r["thumbnails_stall_ms"] < TARGET_STALL_MS)


def test_review_figures_on_a_small_store(qtbot, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "review"))
    from _review_helpers import hand_store

    from grace.review.store import ReviewStore

    store, _ = hand_store(tmp_path)
    r = review_stall(decisions=3, look_ms=20, store=str(store))
    assert set(r) == {"review_decisions", "review_next_ms_median", "review_next_ms_max",
                      "review_next_prefetched", "review_stall_ms", "review_ok"}  # fmt: skip
    assert r["review_decisions"] == 3 and 0 <= r["review_next_prefetched"] <= 3
    assert 0 <= r["review_next_ms_median"] <= r["review_next_ms_max"]
    with ReviewStore(store) as st:  # the decisions were made through the tab, in turn
        assert [d.action for d in st.decisions()] == ["accept", "reject", "accept"]


def test_stall_parts_are_parsed_and_checked(capsys):
    assert parse_args(["--stall"]).stall_parts == ("thumbnails", "train")
    assert parse_args(["--stall", "train"]).stall_parts == ("train",)
    a = parse_args(["d", "--weights", "w.pt", "--stall", "thumbnails"])
    assert (a.folder, a.weights, a.stall_parts) == ("d", "w.pt", ("thumbnails",))
    for argv, message in (
        (
            ["--stall", "scroll"],
            "--stall scroll: unknown part 'scroll' (use thumbnails, train, review)",
        ),
        ([], "give --weights W.pt FOLDER, --stall, or both"),
        (["d"], "give --weights W.pt FOLDER, --stall, or both"),
    ):
        with pytest.raises(SystemExit) as e:
            parse_args(argv)
        assert e.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"error: {message}")
