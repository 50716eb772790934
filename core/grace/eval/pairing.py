"""The same validation images in every run, or a refusal (what a paired comparison needs).

Runs are paired image by image: by full path when every run lists the same paths, else by file
name when names are unique and every run lists the same names (the same split read from another
copy). Paired images must carry the same ground truth (size, classes, boxes) and every run the
same class names and the same ``grace val`` protocol; anything else is a :class:`GraceError`
naming the run and the first differing file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grace.errors import GraceError
from grace.eval.records import ImageRecord, load_records

GT_TOLERANCE = 1e-3  # pixels: the boxes are stored as float64 from the same label files


def read_predictions(path: str | Path) -> tuple[list[ImageRecord], list[str], dict]:
    """:func:`load_records` with one line on a file it cannot read."""
    try:
        return load_records(path)
    except (OSError, ValueError, KeyError, EOFError) as e:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GraceError(f"{path}: not a grace val predictions file ({detail})") from None


def _keys(records: Sequence[ImageRecord], by_name: bool) -> list[str]:
    return [Path(r.file).name if by_name else r.file for r in records]


def _same_gt(a: ImageRecord, b: ImageRecord) -> bool:
    return (
        (a.width, a.height) == (b.width, b.height)
        and np.array_equal(a.gt_classes, b.gt_classes)
        and a.gt_boxes.shape == b.gt_boxes.shape
        and bool(np.allclose(a.gt_boxes, b.gt_boxes, atol=GT_TOLERANCE, rtol=0))
    )


def align_runs(
    names: Sequence[str],
    loaded: Sequence[tuple[list[ImageRecord], list[str], dict]],
    paths: Sequence[str],
) -> list[list[ImageRecord]]:
    """Every run's records in the reference's (first run's) image order.

    Parameters
    ----------
    names
        Run names, for the messages.
    loaded
        :func:`read_predictions` of each run.
    paths
        Each run's predictions file, for the messages.

    Raises
    ------
    GraceError
        Different class names, protocols, image sets or ground truth (module rules).
    """
    ref_records, ref_classes, ref_info = loaded[0]
    for name, path, (_, classes, info) in zip(names, paths, loaded, strict=True):
        if classes != ref_classes:
            raise GraceError(
                f"{path}: {name} was evaluated with classes [{', '.join(classes)}], "
                f"{names[0]} with [{', '.join(ref_classes)}]; runs must share one dataset"
            )
        if info.get("protocol") != ref_info.get("protocol"):
            raise GraceError(
                f"{path}: {name} was evaluated under protocol {info.get('protocol')}, "
                f"{names[0]} under {ref_info.get('protocol')}; re-run grace val with one "
                "--protocol"
            )
    by_name = any(
        set(_keys(recs, False)) != set(_keys(ref_records, False)) for recs, _, _ in loaded
    )
    ref_keys = _keys(ref_records, by_name)
    aligned = []
    for name, path, (records, _, _) in zip(names, paths, loaded, strict=True):
        keys = _keys(records, by_name)
        if len(set(keys)) != len(keys) or len(set(ref_keys)) != len(ref_keys):
            raise GraceError(
                f"{path}: {name} and {names[0]} list different image paths and their file "
                "names are not unique; evaluate both on one copy of the split"
            )
        if set(keys) != set(ref_keys):
            only = sorted(set(keys) ^ set(ref_keys))[0]
            raise GraceError(
                f"{path}: {name} was evaluated on other images than {names[0]} ({len(keys)} "
                f"vs {len(ref_keys)} images; {only} is in one only); a paired comparison needs "
                "the same validation images"
            )
        index = {k: i for i, k in enumerate(keys)}
        ordered = [records[index[k]] for k in ref_keys]
        for mine, ref in zip(ordered, ref_records, strict=True):
            if not _same_gt(mine, ref):
                raise GraceError(
                    f"{path}: {name} and {names[0]} have different ground truth for "
                    f"{Path(ref.file).name} (size or labels differ); they were not evaluated "
                    "on the same validation images"
                )
        aligned.append(ordered)
    return aligned
