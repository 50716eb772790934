"""``grace data import voc``: any Pascal VOC folder (GC10-DET and other real, dirty sets) to YOLO.

Order of work: find files -> decode every image (unreadable ones skipped) -> drop byte-identical
copies (SHA-256; the first by file name is kept, preferring a copy that has an XML) -> pair
images with XMLs by stem -> parse the XMLs -> resolve class names -> check every box -> seeded
split of the images left (so duplicates can never straddle train and val) -> write. Each file or
box skipped, dropped, fixed or renamed is a :class:`~grace.data.problems.Problem`; see
:data:`~grace.data.problems.HANDLING` for the rule applied to each kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from grace.data.boxes import check_box, yolo_line
from grace.data.classes import ClassMap, resolve_classes
from grace.data.dedupe import dedupe
from grace.data.images import ImageProbe, probe_image, sha256_file
from grace.data.output import OutputItem, prepare_out, write_report, write_yolo
from grace.data.problems import Problem, count_kinds
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
    """YOLO lines for one image, with a problem for every box dropped, clipped or renamed."""
    xml = str(ann.path)
    w, h = probe.width, probe.height
    if (ann.width, ann.height) != (w, h):
        problems.append(
            Problem(xml, "size_mismatch", f"XML size {ann.width}x{ann.height}, image {w}x{h}")
        )
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
        check = check_box(b.xmin, b.ymin, b.xmax, b.ymax, w, h)
        if check.box is None or check.status == "clipped":
            detail = f"box {_box_text(b)} in a {w}x{h} image"
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
    files = discover(roots or [src], exclude=[out])
    if not files.images:
        raise GraceError(f"{src}: no images found")
    problems = [Problem(str(p), "not_an_image", "ignored") for p in files.others]
    xml_stems = {x.stem for x in files.xmls}

    probes = {p: probe_image(p) for p in files.images}
    for p, pr in probes.items():
        if not pr.ok:
            extra = "; its XML is skipped too" if p.stem in xml_stems else ""
            problems.append(Problem(str(p), "unreadable_image", f"{pr.error}{extra}"))
    readable = [p for p in files.images if probes[p].ok]
    kept, groups = dedupe(
        [(p, sha256_file(p)) for p in readable], prefer=lambda p: p.stem in xml_stems
    )
    dropped_stems = {p.stem for g in groups for p in g.dropped}
    unreadable_stems = {p.stem for p in files.images if not probes[p].ok}
    pairing = pair_by_stem(kept, files.xmls, accounted_stems=dropped_stems | unreadable_stems)

    for stem, (imgs, xmls) in pairing.ambiguous.items():
        others = ", ".join(str(p) for p in imgs + xmls)
        for p in imgs + xmls:
            problems.append(Problem(str(p), "ambiguous_stem", f"stem {stem!r} shared by: {others}"))
    problems += [Problem(str(p), "image_without_xml", "skipped") for p in pairing.no_xml]
    problems += [Problem(str(x), "xml_without_image", "ignored") for x in pairing.xml_without_image]

    anns: dict[Path, VocAnnotation] = {}
    for p in kept:
        if p not in pairing.pairs:
            continue
        ann, probs = read_voc(pairing.pairs[p])
        if ann is None:
            problems.append(Problem(probs[0].file, "bad_xml", f"{probs[0].detail}; {p} skipped"))
            continue
        problems += probs
        if not ann.boxes and not probs:
            problems.append(Problem(str(ann.path), "empty_xml", "kept as a background image"))
        anns[p] = ann

    duplicates = []
    for g in groups:
        kept_key = _boxes_key(anns.get(g.kept))
        for d in g.dropped:
            x = pairing.pairs.get(g.kept)
            d_xml = next((f for f in files.xmls if f.stem == d.stem), None)
            d_key = _boxes_key(read_voc(d_xml)[0]) if d_xml else None
            differ = None if kept_key is None or d_key is None else kept_key != d_key
            duplicates.append(
                {"dropped": d.name, "kept": g.kept.name, "sha256": g.sha256,
                 "labels_differ": differ, "dropped_file": str(d), "kept_file": str(g.kept)}
            )  # fmt: skip
            note = {True: "labels differ", False: "same labels", None: "labels not comparable"}
            problems.append(
                Problem(str(d), "duplicate_image", f"same bytes as {g.kept} ({x}); "
                        f"dropped with its XML {d_xml}; {note[differ]}")
            )  # fmt: skip

    counts = Counter(b.name for a in anns.values() for b in a.boxes)
    cmap = resolve_classes(counts, classes, aliases)
    images = list(anns)  # kept order: by file name
    if not images:
        counts_text = ", ".join(f"{k} {v}" for k, v in count_kinds(problems).items())
        raise GraceError(f"{src}: no usable annotated image ({counts_text})")
    split = seeded_split(len(images), seed, val_fraction)
    items, per_class, n_inst = [], Counter(), Counter()
    for p, s in zip(images, split, strict=True):
        lines, pc = _label_lines(p, anns[p], probes[p], cmap, problems)
        if probes[p].grayscale_as_rgb:
            problems.append(Problem(str(p), "grayscale_as_rgb", "kept as it is"))
        items.append(OutputItem(p, s, p.name, tuple(lines)))
        per_class.update(pc)
        n_inst[s] += len(lines)

    prepare_out(out, src)
    data_yaml = write_yolo(out, items, cmap.names, ("train", "val"))
    report = ImportReport(
        out=str(out),
        data_yaml=str(data_yaml),
        names=list(cmap.names),
        images={s: split.count(s) for s in ("train", "val")},
        instances={s: n_inst[s] for s in ("train", "val")},
        instances_per_class={n: per_class[n] for n in cmap.names},
        duplicates_dropped=duplicates,
        problems=problems,
        source=str(src),
        format=format_name,
        split_rule=f"{SPLIT_RULE} (seed {seed}, val_fraction {val_fraction})",
        report_file=str(out / "import_report.json"),
    )
    write_report(out, report.to_dict())
    return report
