"""One content hash of a dataset split: which images and labels a figure was measured on.

The rule (recomputable with ``sha256sum``): for every image of the split, a line
``<SHA-256 of the file>  images/<path relative to the split's image folder>`` and, when it has a
label file (:func:`grace.data.yolo_layout.find_label`), a line
``<SHA-256 of the file>  labels/<the same relative path, suffix .txt>``; the lines (each ending in
``\\n``, paths with ``/``) sorted by relative name (the part after the two spaces), encoded as
UTF-8; the hash is the SHA-256 of that text. Renaming or moving the dataset folder keeps the hash;
changing, adding or removing one image or label changes it. A file that cannot be read is left
out and reported as a :class:`~grace.data.problems.Problem` (the hash then says so: ``files``
counts what went in).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from grace.data.images import sha256_file
from grace.data.problems import Problem
from grace.data.yolo_layout import YoloDataset, find_label
from grace.errors import GraceError


@dataclass
class SplitHash:
    """The content hash of one split (module rule).

    Attributes
    ----------
    split
        ``train``, ``val`` or ``test``.
    sha256
        Hex SHA-256 of the manifest text.
    images, labels
        How many images and label files went into it.
    problems
        Files that could not be read (left out of the hash).
    """

    split: str
    sha256: str
    images: int
    labels: int
    problems: list[Problem] = field(default_factory=list)


def manifest_text(entries: list[tuple[str, str]]) -> str:
    """The hashed text of ``(relative name, file SHA-256)`` pairs: sorted by name, one
    ``"<sha>  <name>\\n"`` line each (``sha256sum``'s format)."""
    return "".join(f"{sha}  {name}\n" for name, sha in sorted(entries))


def split_content_hash(ds: YoloDataset, split: str = "val") -> SplitHash:
    """SHA-256 over the sorted ``(relative name, file SHA-256)`` of a split's images and labels.

    Parameters
    ----------
    ds
        The dataset as :func:`grace.data.yolo_layout.read_yolo_dataset` read it.
    split
        Which split.

    Returns
    -------
    SplitHash

    Raises
    ------
    GraceError
        When the dataset has no such split.
    """
    if split not in ds.splits:
        raise GraceError(f"{ds.yaml_path}: no '{split}' split")
    folder, images = ds.splits[split]
    entries: list[tuple[str, str]] = []
    problems: list[Problem] = []
    n_labels = 0
    for image in images:
        rel = image.relative_to(folder).as_posix()
        label = find_label(image)
        items = [("images/" + rel, image, "unreadable_image")]
        if label is not None:
            items.append(("labels/" + Path(rel).with_suffix(".txt").as_posix(), label,
                          "malformed_label"))  # fmt: skip
        for name, path, kind in items:
            try:
                entries.append((name, sha256_file(path)))
            except OSError as e:
                why = f"unreadable ({e.strerror or e}); left out of the {split} content hash"
                problems.append(Problem(str(path), kind, why))
                continue
            n_labels += path is label
    sha = hashlib.sha256(manifest_text(entries).encode("utf-8")).hexdigest()
    return SplitHash(split, sha, len(entries) - n_labels, n_labels, problems)
