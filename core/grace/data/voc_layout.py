"""Finding the images and VOC XML files of a dataset folder and pairing them by file stem.

Works for the standard ``JPEGImages/`` + ``Annotations/``, NEU-DET's ``IMAGES/`` +
``ANNOTATIONS/``, GC10-DET's images in class sub-folders with a separate label folder, and
images and XMLs side by side: every file under the roots is found recursively (hidden folders
and the output folder excepted) and an image pairs with the XML of the same stem.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grace.data.images import is_image_name


def name_order(path: Path) -> tuple[str, str]:
    """Canonical order of files: by file name, then by full path."""
    return (path.name, str(path))


@dataclass
class VocFiles:
    """Images and XMLs found (each sorted by :func:`name_order`), and every other file under the
    roots (a README in ``Annotations/``, ``Thumbs.db``, VOC's ``ImageSets`` lists), reported as
    ``not_an_image``."""

    images: list[Path] = field(default_factory=list)
    xmls: list[Path] = field(default_factory=list)
    others: list[Path] = field(default_factory=list)


def discover(roots: Sequence[Path], exclude: Iterable[Path] = ()) -> VocFiles:
    """Walk ``roots`` recursively; folders whose name starts with a dot and folders in
    ``exclude`` (e.g. the output folder when it lies inside the source) are skipped."""
    skip = {p.resolve() for p in exclude}
    images, xmls, others = set(), set(), set()
    for root in roots:
        for d, dirs, files in os.walk(root):
            dirs[:] = sorted(
                x for x in dirs if not x.startswith(".") and Path(d, x).resolve() not in skip
            )
            for f in files:
                p = Path(d, f)
                if f.lower().endswith(".xml"):
                    xmls.add(p)
                elif is_image_name(p) and not f.startswith("."):
                    images.add(p)
                else:
                    others.add(p)
    return VocFiles(
        sorted(images, key=name_order),
        sorted(xmls, key=name_order),
        sorted(others, key=name_order),
    )


@dataclass
class Pairing:
    """``pairs``: image -> its XML; ``no_xml``: images without one; ``xml_without_image``;
    ``ambiguous``: stem -> (images, XMLs) where a stem has several images or several XMLs."""

    pairs: dict[Path, Path] = field(default_factory=dict)
    no_xml: list[Path] = field(default_factory=list)
    xml_without_image: list[Path] = field(default_factory=list)
    ambiguous: dict[str, tuple[list[Path], list[Path]]] = field(default_factory=dict)


def pair_by_stem(
    images: Sequence[Path], xmls: Sequence[Path], accounted_stems: Iterable[str] = ()
) -> Pairing:
    """Pair images with XMLs of the same stem (exact, case-sensitive).

    XMLs whose stem is in ``accounted_stems`` (the stems of images already dropped as duplicates
    or unreadable, whose problem covers their XML) are not reported as ``xml_without_image``.
    """
    img_by_stem: dict[str, list[Path]] = {}
    for p in images:
        img_by_stem.setdefault(p.stem, []).append(p)
    xml_by_stem: dict[str, list[Path]] = {}
    for x in xmls:
        xml_by_stem.setdefault(x.stem, []).append(x)
    out = Pairing()
    for stem, imgs in img_by_stem.items():
        xs = xml_by_stem.get(stem, [])
        if len(imgs) > 1 or len(xs) > 1:
            out.ambiguous[stem] = (imgs, xs)
        elif xs:
            out.pairs[imgs[0]] = xs[0]
        else:
            out.no_xml.append(imgs[0])
    accounted = set(accounted_stems)
    for stem, xs in xml_by_stem.items():
        if stem not in img_by_stem and stem not in accounted:
            out.xml_without_image.extend(xs)
    out.xml_without_image.sort(key=name_order)
    return out
