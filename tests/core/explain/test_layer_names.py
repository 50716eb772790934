"""Layer names an engineer understands: the pure naming on a hand-written YOLO11 table, then the
same names read off real models (plain and Lite-FEN)."""

from __future__ import annotations

from grace.explain.layer_names import LayerInfo, layer_levels, layer_names

# yolo11.yaml, written out by hand: (class, from, step); Conv 3x3 s2 halves, Upsample doubles
YOLO11 = [
    ("Conv", [-1], 1), ("Conv", [-1], 1), ("C3k2", [-1], 0), ("Conv", [-1], 1),
    ("C3k2", [-1], 0), ("Conv", [-1], 1), ("C3k2", [-1], 0), ("Conv", [-1], 1),
    ("C3k2", [-1], 0), ("SPPF", [-1], 0), ("C2PSA", [-1], 0),
    ("Upsample", [-1], -1), ("Concat", [-1, 6], 0), ("C3k2", [-1], 0),
    ("Upsample", [-1], -1), ("Concat", [-1, 4], 0), ("C3k2", [-1], 0),
    ("Conv", [-1], 1), ("Concat", [-1, 13], 0), ("C3k2", [-1], 0),
    ("Conv", [-1], 1), ("Concat", [-1, 10], 0), ("C3k2", [-1], 0),
    ("Detect", [16, 19, 22], 0),
]  # fmt: skip


def _table() -> list[LayerInfo]:
    return [
        LayerInfo(kind, tuple(i + j if j < 0 else j for j in f), step)
        for i, (kind, f, step) in enumerate(YOLO11)
    ]


def test_levels_follow_the_strides_of_yolo11():
    # P1..P5 down the backbone, back up to P3 in the neck, down to P5 again
    assert layer_levels(_table()) == [
        1, 2, 2, 3, 3, 4, 4, 5, 5, 5, 5, 4, 4, 4, 3, 3, 3, 4, 4, 4, 5, 5, 5, 3
    ]  # fmt: skip


def test_yolo11_names_plain_and_with_lite_fen():
    plain = layer_names(_table(), 11, [16, 19, 22])
    assert plain[9] == "backbone P5 (SPPF)"
    assert plain[10] == "backbone P5 (C2PSA)"
    assert plain[4] == "backbone P3 (C3k2)"
    assert plain[13] == "neck P4 top-down (C3k2)"
    assert plain[15] == "neck P3 top-down (Concat)"
    assert plain[16] == "P3 input of the head"
    assert plain[17] == "neck P4 bottom-up (Conv)"
    assert plain[19] == "P4 input of the head"
    assert plain[22] == "P5 input of the head"
    assert plain[23] == "detection head (Detect)"
    assert len(set(plain)) == len(plain)  # every layer can be told from the others
    fen = layer_names(_table(), 11, [16, 19, 22], fen=True)
    assert fen[16] == "P3 neck output (before Lite-FEN)"
    assert [a for a, b in zip(plain, fen, strict=True) if a != b] == ["P3 input of the head"]


def test_real_models_get_the_same_names(baseline_model, grace_model):
    from grace.explain.layers import layer_choices, target_name

    expected = layer_names(_table(), 11, [16, 19, 22])[:-1]
    assert layer_choices(baseline_model) == list(enumerate(expected))
    assert target_name(baseline_model) == "P3 input of the head"
    assert target_name(grace_model) == "P3 input of the head (after Lite-FEN)"
    assert target_name(grace_model, 16) == "P3 neck output (before Lite-FEN)"
    assert target_name(grace_model, 9) == "backbone P5 (SPPF)"
    assert target_name(baseline_model, -2) == "P5 input of the head"
