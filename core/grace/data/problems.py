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
    "are dropped with their labels. VOC: the copy with a valid XML with boxes, else a valid empty "
    "XML, else a malformed XML, else none (the first by file name among equals), before the "
    "split, so a pair can never straddle train and val. YOLO export: the copy with boxes, else "
    "with a label file; among equals the copy in val, else test, else train (first by name), so "
    "train never leaks into evaluation. Copies whose annotations differ are also listed under "
    "'warnings' in the summary, with both files",
    "image_without_xml": "image with no annotation file: skipped (an unannotated image is not "
    "known to be defect-free)",
    "xml_without_image": "annotation file with no image: ignored",
    "ambiguous_stem": "several images or several annotation files share one file stem so they "
    "cannot be paired: all of them are skipped",
    "not_an_image": "a file that is neither an image nor an annotation, wherever it lies under "
    "the source (a README in Annotations/, Thumbs.db, VOC's ImageSets lists): ignored",
    "unreadable_image": "image file that cannot be decoded: skipped with its labels",
    "lfs_pointer": "Git LFS pointer file in place of an image (the repository was cloned without "
    "`git lfs pull`): skipped with its labels; an import left with no image fails, naming the "
    "cause, and writes only its report",
    "exif_orientation": "image with an EXIF orientation tag (OpenCV and Ultralytics train on it "
    "rotated): written with its pixels rotated as shown and no tag (JPEG re-encoded at quality "
    "95); the boxes are moved into that frame when the XML <size> is the stored size, or cannot "
    "tell (LabelImg draws on the stored pixels), and kept when it is the rotated size",
    "grayscale_as_rgb": "grayscale content stored as 3 equal channels: kept as it is (counted)",
    "bad_xml": "annotation file that is not valid Pascal VOC XML (read in the encoding its XML "
    "declaration names, e.g. gbk), or a Git LFS pointer: skipped with its image",
    "empty_xml": "annotation with no objects: the image is kept as a background image "
    "(empty label file)",
    "size_mismatch": "<size> in the XML missing or different from the image (stored or, with an "
    "EXIF orientation, rotated): the image's real size is used",
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
    "suspect_class": "class name that looks like a typo (at most 5 boxes and one edit from a class "
    "with more, or a single character): kept as its own class; the summary's 'warnings' give the "
    "--alias that would merge it",
    # YOLO labels
    "malformed_label": "label line that is not 'class cx cy w h' numbers: dropped",
    "class_out_of_range": "class id outside the data.yaml names: box dropped",
    "polygon_label": "segmentation polygon line: converted to its bounding box",
    "image_without_label": "YOLO image with no label file (looked for under labels/ as "
    "Ultralytics does, then beside the image): kept as a background image (the YOLO "
    "convention); an import with no instance at all fails",
    "label_without_image": "YOLO label file with no image: ignored",
}

# kinds where nothing is lost or changed (listed after the others in a short summary)
NOTE_KINDS = frozenset({"grayscale_as_rgb", "duplicate_box"})

# how much each kind matters to what is trained on, most serious first: "serious" (images or
# boxes left out, or labels that may be wrong), "fixed" (changed and kept, or a stray file
# ignored), "note" (nothing lost or changed)
LEVELS = ("serious", "fixed", "note")
FIXED_KINDS = frozenset({
    "xml_without_image", "exif_orientation", "empty_xml", "size_mismatch", "box_clipped",
    "class_alias", "polygon_label", "image_without_label", "label_without_image",
})  # fmt: skip
IGNORED_KINDS = NOTE_KINDS | {"not_an_image"}


def level_of(kind: str) -> str:
    """``"serious"``, ``"fixed"`` or ``"note"`` (see :data:`LEVELS`) for a kind of
    :data:`HANDLING`."""
    if kind not in HANDLING:
        raise ValueError(f"unknown problem kind {kind!r}")
    if kind in IGNORED_KINDS:
        return "note"
    return "fixed" if kind in FIXED_KINDS else "serious"


def kind_order(kind: str) -> tuple[int, int]:
    """Sort key of a kind: its level, then its place in :data:`HANDLING`."""
    return LEVELS.index(level_of(kind)), list(HANDLING).index(kind)


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


def counts_text(problems: Iterable[Problem]) -> str:
    """``"kind n, kind n"`` for a one-line error, with the cure when images are Git LFS
    pointers."""
    counts = count_kinds(problems)
    text = ", ".join(f"{k} {v}" for k, v in counts.items()) or "no problems"
    if counts.get("lfs_pointer"):
        text += "; the images are Git LFS pointers: run `git lfs pull` in the source repository"
    return text
