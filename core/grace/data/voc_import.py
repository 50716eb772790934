"""``grace data import voc``: any Pascal VOC folder (GC10-DET and other real, dirty sets) to YOLO.

Order of work: find files -> decode every image (unreadable ones and Git LFS pointers skipped)
-> drop byte-identical copies (SHA-256; the copy kept is the one with a valid XML with boxes,
then a valid empty XML, then a malformed one, then none; the first by file name among equals)
-> pair images with XMLs by stem -> parse the XMLs -> resolve class names (and flag names that
look like typos) -> check every box (moved into the frame the trainer sees for images with an
EXIF orientation) -> seeded split of the images left (so duplicates can never straddle train
and val) -> write, all at once (see :mod:`grace.data.output`). Each file or box skipped,
dropped, fixed or renamed is a :class:`~grace.data.problems.Problem`; see
:data:`~grace.data.problems.HANDLING` for the rule applied to each kind. An import with no
usable image or no instance at all fails with one line, and writes only its report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from grace.data.boxes import check_box, yolo_line
from grace.data.classes import ClassMap, resolve_classes, suspect_classes
from grace.data.dedupe import dedupe
from grace.data.images import ImageProbe, probe_image, sha256_file
from grace.data.orientation import NAMES, annotated_frame, box_to_shown, shown_size
from grace.data.output import REPORT_NAME, OutputItem, check_out, fail_import, write_yolo
from grace.data.problems import Problem, counts_text
from grace.data.report import ImportReport
from grace.data.split import seeded_split
from grace.data.voc import VocAnnotation, read_voc
from grace.data.voc_layout import discover, pair_by_stem
from grace.errors import GraceError

SPLIT_RULE = (
    "images left after de-duplication, sorted by file name, shuffled with "
    "numpy.random.default_rng(seed).permutation; the first round(n * val_fraction) go to val"
)
_BOX_KIND = {"clipped": "box_clipped", "outside": "box_outside", "zero_area": "zero_area_box"}


def _box_text(b) -> str:
    return f"{b.name!r} ({b.xmin:g}, {b.ymin:g}, {b.xmax:g}, {b.ymax:g})"


def _label_lines(
    image: Path, ann: VocAnnotation, probe: ImageProbe, cmap: ClassMap, problems: list[Problem]
) -> tuple[list[str], Counter]:
    """YOLO lines for one image (in the frame the trainer sees, see
    :mod:`grace.data.orientation`), with a problem for every box dropped, clipped or renamed."""
    xml = str(ann.path)
    stored, o = (probe.width, probe.height), probe.orientation
    w, h = shown_size(*stored, o)
    xml_size = (ann.width, ann.height)
    frame = annotated_frame(xml_size, stored, o)
    move = o != 1 and frame == "stored"
    if o != 1:
        drawn = "stored pixels (boxes moved)" if move else "shown image (boxes kept)"
        problems.append(
            Problem(str(image), "exif_orientation", f"EXIF orientation {o} ({NAMES[o]}): stored "
                    f"{stored[0]}x{stored[1]}, shown {w}x{h}; XML size {ann.width}x{ann.height}: "
                    f"drawn on the {drawn}; written upright {w}x{h} without the tag")
        )  # fmt: skip
    if xml_size not in (stored, (w, h)):
        shown = f" (shown {w}x{h})" if (w, h) != stored else ""
        problems.append(
            Problem(xml, "size_mismatch", f"XML size {ann.width}x{ann.height}, image "
                    f"{stored[0]}x{stored[1]}{shown}")
        )  # fmt: skip
    lines: list[str] = []
    per_class: Counter = Counter()
    renamed: Counter = Counter()
    seen: set[tuple] = set()
    for b in ann.boxes:
        cls = cmap.index(b.name)
        if cls is None:
            problems.append(Problem(xml, "unknown_class", f"box {_box_text(b)} dropped"))
            continue
        if b.name in cmap.renamed:
            renamed[b.name] += 1
        box = (b.xmin, b.ymin, b.xmax, b.ymax)
        if move:
            box = box_to_shown(box, *stored, o)
        check = check_box(*box, w, h)
        if check.box is None or check.status == "clipped":
            detail = f"box {_box_text(b)} in a {w}x{h} image"
            if move:
                detail += " (moved to ({:g}, {:g}, {:g}, {:g}))".format(*box)
            if check.box is not None:
                detail += " clipped to ({:g}, {:g}, {:g}, {:g})".format(*check.box)
            problems.append(Problem(xml, _BOX_KIND[check.status], detail))
        if check.box is None:
            continue
        key = (cls, b.xmin, b.ymin, b.xmax, b.ymax)
        if key in seen:
            problems.append(Problem(xml, "duplicate_box", f"box {_box_text(b)} twice"))
        seen.add(key)
        lines.append(yolo_line(cls, check.box, w, h))
        per_class[cmap.names[cls]] += 1
    for raw, n in renamed.items():
        detail = f"{raw!r} -> {cmap.renamed[raw]!r} ({n} boxes)"
        problems.append(Problem(xml, "class_alias", detail))
    return lines, per_class


def _boxes_key(ann: VocAnnotation | None) -> tuple | None:
    if ann is None:
        return None
    return tuple(sorted((b.name, b.xmin, b.ymin, b.xmax, b.ymax) for b in ann.boxes))


class _Xmls:
    """The XMLs by stem, each parsed once on demand."""

    def __init__(self, xmls: Sequence[Path]) -> None:
        self.by_stem: dict[str, list[Path]] = {}
        for x in xmls:
            self.by_stem.setdefault(x.stem, []).append(x)
        self._parsed: dict[Path, tuple[VocAnnotation | None, list[Problem]]] = {}

    def parse(self, xml: Path) -> tuple[VocAnnotation | None, list[Problem]]:
        if xml not in self._parsed:
            self._parsed[xml] = read_voc(xml)
        return self._parsed[xml]

    def of(self, image: Path) -> Path | None:
        """The one XML of ``image``'s stem (None when there is none, or several)."""
        xs = self.by_stem.get(image.stem, [])
        return xs[0] if len(xs) == 1 else None

    def rank(self, image: Path) -> int:
        """Which copy of a duplicate to keep: 3 valid XML with boxes, 2 valid XML without,
        1 malformed XML, 0 no XML."""
        xml = self.of(image)
        if xml is None:
            return 0
        ann = self.parse(xml)[0]
        return 1 if ann is None else 3 if ann.boxes else 2

    def state(self, image: Path) -> str:
        xml = self.of(image)
        ann = self.parse(xml)[0] if xml else None
        if xml is None:
            return "no XML"
        if ann is None:
            return f"{xml} malformed"
        n = len(ann.boxes)
        return f"{xml}: {n} box{'es' if n != 1 else ''}" if n else f"{xml}: no objects"


def _duplicates(groups, xmls: _Xmls, problems: list[Problem], warnings: list[str]) -> list[dict]:
    """One report entry and one ``duplicate_image`` problem per dropped copy; a warning for the
    summary when the copies' annotations differ."""
    duplicates = []
    note = {True: "labels differ", False: "same labels", None: "labels not comparable"}
    for g in groups:
        k_xml = xmls.of(g.kept)
        kept_key = _boxes_key(xmls.parse(k_xml)[0]) if k_xml else None
        for d in g.dropped:
            d_xml = xmls.of(d)
            d_key = _boxes_key(xmls.parse(d_xml)[0]) if d_xml else None
            differ = None if kept_key is None or d_key is None else kept_key != d_key
            duplicates.append(
                {"dropped": d.name, "kept": g.kept.name, "sha256": g.sha256,
                 "labels_differ": differ, "dropped_file": str(d), "kept_file": str(g.kept),
                 "dropped_xml": str(d_xml or ""), "kept_xml": str(k_xml or "")}
            )  # fmt: skip
            problems.append(
                Problem(str(d), "duplicate_image", f"same bytes as {g.kept} ({k_xml}); "
                        f"dropped with its XML {d_xml}; {note[differ]}")
            )  # fmt: skip
            if d_xml is not None and differ is not False:
                warnings.append(
                    f"duplicate images with different annotations: kept {g.kept} "
                    f"({xmls.state(g.kept)}), dropped {d} ({xmls.state(d)})"
                )
    return duplicates


def _suspects(anns: dict[Path, VocAnnotation], cmap: ClassMap, problems, warnings) -> None:
    """A ``suspect_class`` problem (naming the first XML that uses it) and a summary warning
    for each class name that looks like a typo."""
    counts: Counter = Counter()
    first: dict[str, str] = {}
    for ann in anns.values():
        for b in ann.boxes:
            c = cmap.canonical.get(b.name)
            if c is not None:
                counts[c] += 1
                first.setdefault(c, str(ann.path))
    for s in suspect_classes(counts):
        problems.append(Problem(first[s.name], "suspect_class", s.text()))
        warnings.append(s.text())


def import_voc(
    src: str | Path,
    out: str | Path,
    seed: int = 0,
    val_fraction: float = 0.2,
    classes: Sequence[str] | None = None,
    aliases: Mapping[str, str] | None = None,
    roots: Sequence[Path] | None = None,
    format_name: str = "voc",
) -> ImportReport:
    """Convert the VOC dataset under ``src`` into a YOLO dataset at ``out``.

    Parameters
    ----------
    src, out
        Source folder (searched recursively) and output folder (new, empty, or a previous import).
    seed, val_fraction
        The split (see :data:`SPLIT_RULE`).
    classes
        Fixed class list and order; names outside it are ``unknown_class`` (boxes dropped).
        Without it: the sorted set of names found, spellings merged (see :mod:`grace.data.classes`).
    aliases
        ``{old: new}`` renamings applied before the class list.
    roots
        Folders to search instead of ``src`` (NEU-DET: ``IMAGES/`` and ``ANNOTATIONS/``).

    Returns
    -------
    ImportReport
        Counts, class names, duplicates and every problem; also written to
        ``out/import_report.json``.
    """
    src, out = Path(src).absolute(), Path(out)
    if not src.is_dir():
        raise GraceError(f"{src}: folder not found")
    seeded_split(0, seed, val_fraction)  # validates val_fraction before any work
    check_out(out, src)
    report = ImportReport(
        out=str(out), data_yaml="", names=[], images={}, instances={}, instances_per_class={},
        source=str(src), format=format_name,
        split_rule=f"{SPLIT_RULE} (seed {seed}, val_fraction {val_fraction})",
        report_file=str(out / REPORT_NAME),
    )  # fmt: skip
    problems, warnings = report.problems, report.warnings

    def failed(message: str) -> GraceError:
        return fail_import(out, src, report.to_dict(), message)

    files = discover(roots or [src], exclude=[out])
    problems += [Problem(str(p), "not_an_image", _stray_detail(p)) for p in files.others]
    if not files.images:
        raise failed(f"{src}: no images found")
    xmls = _Xmls(files.xmls)

    probes = {p: probe_image(p) for p in files.images}
    for p, pr in probes.items():
        if not pr.ok:
            extra = "; its XML is skipped too" if p.stem in xmls.by_stem else ""
            kind = "lfs_pointer" if pr.lfs_pointer else "unreadable_image"
            problems.append(Problem(str(p), kind, f"{pr.error}{extra}"))
    readable = [p for p in files.images if probes[p].ok]
    kept, groups = dedupe([(p, sha256_file(p)) for p in readable], prefer=xmls.rank)
    dropped_stems = {p.stem for g in groups for p in g.dropped}
    unreadable_stems = {p.stem for p in files.images if not probes[p].ok}
    pairing = pair_by_stem(kept, files.xmls, accounted_stems=dropped_stems | unreadable_stems)

    for stem, (imgs, xs) in pairing.ambiguous.items():
        others = ", ".join(str(p) for p in imgs + xs)
        for p in imgs + xs:
            problems.append(Problem(str(p), "ambiguous_stem", f"stem {stem!r} shared by: {others}"))
    problems += [Problem(str(p), "image_without_xml", "skipped") for p in pairing.no_xml]
    problems += [Problem(str(x), "xml_without_image", "ignored") for x in pairing.xml_without_image]

    anns: dict[Path, VocAnnotation] = {}
    for p in kept:
        if p not in pairing.pairs:
            continue
        ann, probs = xmls.parse(pairing.pairs[p])
        if ann is None:
            problems.append(Problem(probs[0].file, "bad_xml", f"{probs[0].detail}; {p} skipped"))
            continue
        problems += probs
        if not ann.boxes and not probs:
            problems.append(Problem(str(ann.path), "empty_xml", "kept as a background image"))
        anns[p] = ann
    report.duplicates_dropped = _duplicates(groups, xmls, problems, warnings)

    counts = Counter(b.name for a in anns.values() for b in a.boxes)
    cmap = resolve_classes(counts, classes, aliases)
    images = list(anns)  # kept order: by file name
    if not images:
        raise failed(f"{src}: no usable annotated image ({counts_text(problems)})")
    _suspects(anns, cmap, problems, warnings)
    split = seeded_split(len(images), seed, val_fraction)
    items, per_class, n_inst = [], Counter(), Counter()
    for p, s in zip(images, split, strict=True):
        lines, pc = _label_lines(p, anns[p], probes[p], cmap, problems)
        if probes[p].grayscale_as_rgb:
            problems.append(Problem(str(p), "grayscale_as_rgb", "kept as it is"))
        items.append(OutputItem(p, s, p.name, tuple(lines), upright=probes[p].orientation != 1))
        per_class.update(pc)
        n_inst[s] += len(lines)

    report.names = list(cmap.names)
    report.images = {s: split.count(s) for s in ("train", "val")}
    report.instances = {s: n_inst[s] for s in ("train", "val")}
    report.instances_per_class = {n: per_class[n] for n in cmap.names}
    if not sum(n_inst.values()):
        with_boxes = sum(1 for a in anns.values() if a.boxes)
        raise failed(
            f"{src}: 0 instances in {len(images)} images ({with_boxes} annotation files with "
            f"boxes; {counts_text(problems)})"
        )
    report.data_yaml = str(out / "data.yaml")
    write_yolo(out, src, items, cmap.names, ("train", "val"), report.to_dict())
    return report


def _stray_detail(path: Path) -> str:
    if "ImageSets" in path.parts:
        return "VOC split list, ignored (the split is made by --seed)"
    return "neither an image nor an annotation; ignored"
