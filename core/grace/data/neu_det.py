"""``grace data import neu-det``: NEU-DET (``IMAGES/``, ``ANNOTATIONS/``) to a YOLO dataset.

A thin layer over :func:`grace.data.voc_import.import_voc` that searches only the two NEU-DET
folders. Rules (the paper's, Methods "Dataset and splits"; real runs were made on this split, so
it must not change):
* byte-identical images are dropped by content hash (SHA-256), keeping the first by file name;
* the kept images, sorted by name, are shuffled with ``numpy.random.default_rng(seed)`` and the
  first ``round(n * val_fraction)`` go to val (8:2 by default);
* classes are the sorted set of ``<name>`` tags; instances are counted by ``<name>``.
On the real set: 1,439 train / 360 val images, 4,186 instances (``patches_105.jpg`` is a copy of
``patches_101.jpg``). Any dirt (missing XMLs, bad boxes...) is handled and reported as for VOC.
"""

from __future__ import annotations

from pathlib import Path

from grace.data.report import ImportReport
from grace.data.voc_import import import_voc
from grace.errors import GraceError

__all__ = ["ImportReport", "import_neu_det"]


def import_neu_det(
    src: str | Path, out: str | Path, seed: int = 0, val_fraction: float = 0.2
) -> ImportReport:
    """Convert NEU-DET at ``src`` into a YOLO dataset at ``out``; returns what was written
    (also in ``out/import_report.json``)."""
    src = Path(src).absolute()
    img_dir, ann_dir = src / "IMAGES", src / "ANNOTATIONS"
    for d in (img_dir, ann_dir):
        if not d.is_dir():
            raise GraceError(f"{d}: folder not found (expected NEU-DET's IMAGES/ and ANNOTATIONS/)")
    return import_voc(
        src,
        out,
        seed=seed,
        val_fraction=val_fraction,
        roots=[img_dir, ann_dir],
        format_name="neu-det",
    )
