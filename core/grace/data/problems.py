"""The one record of everything wrong with a dataset, and what the importers do about each kind.

Every file an importer skips, every box it drops or changes, every name it renames is one
:class:`Problem` naming the file; nothing is dropped silently. :data:`HANDLING` is the fixed
vocabulary of kinds with the rule applied to each (also written into every import report).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass

HANDLING: dict[str, str] = {
    # files
    "duplicate_image": "byte-identical (SHA-256) to another image: one copy is kept, the others "
    "are dropped with their labels. VOC: the first by file name (preferring a copy that has an "
    "XML), before the split, so a pair can never straddle train and val. YOLO export: the copy in "
    "val, else test, else train (first by name within a split), so train never leaks into "
    "evaluation",
    "image_without_xml": "image with no annotation file: skipped (an unannotated image is not "
    "known to be defect-free)",
    "xml_without_image": "annotation file with no image: ignored",
    "ambiguous_stem": "several images or several annotation files share one file stem so they "
    "cannot be paired: all of them are skipped",
    "not_an_image": "a file that is neither an image nor an annotation in an image folder: ignored",
    "unreadable_image": "image file that cannot be decoded: skipped with its labels",
    "grayscale_as_rgb": "grayscale content stored as 3 equal channels: kept as it is (counted)",
    "bad_xml": "annotation file that is not valid Pascal VOC XML: skipped with its image",
    "empty_xml": "annotation with no objects: the image is kept as a background image "
    "(empty label file)",
    "size_mismatch": "<size> in the XML missing or different from the image: the image's real "
    "size is used",
    # boxes
    "bad_box": "object without a complete numeric <bndbox>: box dropped",
    "zero_area_box": "box with no area (xmax <= xmin or ymax <= ymin): dropped",
    "box_outside": "box wholly outside the image: dropped",
    "box_clipped": "box partly outside the image: clipped to the image and kept",
    "duplicate_box": "the same class and box twice in one file: kept as the source has it",
    # classes
    "class_alias": "class spelling renamed to its canonical name (same name up to case, spaces, "
    "hyphens and underscores, or an --alias): box kept under the canonical name",
    "unknown_class": "class name not in the class list (or empty): box dropped",
    # YOLO labels
    "malformed_label": "label line that is not 'class cx cy w h' numbers: dropped",
    "class_out_of_range": "class id outside the data.yaml names: box dropped",
    "polygon_label": "segmentation polygon line: converted to its bounding box",
    "image_without_label": "YOLO image with no label file: kept as a background image "
    "(the YOLO convention)",
    "label_without_image": "YOLO label file with no image: ignored",
}

# kinds where nothing is lost or changed (listed after the others in a short summary)
NOTE_KINDS = frozenset({"grayscale_as_rgb", "duplicate_box"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset: the file it is in, its kind (a key of
    :data:`HANDLING`) and a short human detail (line number, box, names involved)."""

    file: str
    kind: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in HANDLING:
            raise ValueError(f"unknown problem kind {self.kind!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return f"{self.file}: {self.kind}" + (f": {self.detail}" if self.detail else "")


def count_kinds(problems: Iterable[Problem]) -> dict[str, int]:
    """Number of problems per kind, in the order of :data:`HANDLING`."""
    counts = Counter(p.kind for p in problems)
    return {k: counts[k] for k in HANDLING if counts[k]}


def handling_of(problems: Iterable[Problem]) -> dict[str, str]:
    """The handling rule of each kind that occurs."""
    return {k: HANDLING[k] for k in count_kinds(problems)}
