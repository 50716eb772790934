"""Reading a YOLO dataset (ours or a Roboflow-style export): ``data.yaml``, split folders, label
files, and the pure parsing of label lines."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grace.data.boxes import check_normalised
from grace.data.images import is_image_name
from grace.data.problems import Problem
from grace.data.voc_layout import name_order
from grace.errors import GraceError

SPLIT_KEYS = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}
_FIX_KIND = {"clipped": "box_clipped", "outside": "box_outside", "zero_area": "zero_area_box"}


@dataclass
class YoloDataset:
    """``names`` in id order; ``splits``: split -> (image folder, images sorted by name)."""

    yaml_path: Path
    names: list[str]
    splits: dict[str, tuple[Path, list[Path]]] = field(default_factory=dict)


def find_data_yaml(path: str | Path) -> Path:
    """``path`` itself, or the ``data.yaml`` (or single ``*.yaml``) in the folder ``path``."""
    p = Path(path)
    if p.is_file():
        return p
    if not p.is_dir():
        raise GraceError(f"{p}: not found")
    if (p / "data.yaml").is_file():
        return p / "data.yaml"
    found = sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml"))
    if len(found) != 1:
        raise GraceError(f"{p}: no data.yaml (found {len(found)} YAML files)")
    return found[0]


def _resolve_split(yaml_path: Path, root: Path, entry: str) -> Path | None:
    """The folder a split entry means. Roboflow writes ``../train/images`` relative to a parent
    that does not exist; try the usual readings and take the first folder that exists."""
    e = Path(str(entry))
    here = yaml_path.parent
    stripped = Path(*[p for p in e.parts if p not in ("..", ".")]) if not e.is_absolute() else e
    candidates = [e] if e.is_absolute() else [root / e, here / e, here / stripped]
    candidates.append(here / Path(*e.parts[-2:]) if len(e.parts) >= 2 else here / e.name)
    return next((c for c in candidates if c.is_dir()), None)


def _names(data: dict, yaml_path: Path) -> list[str]:
    names = data.get("names")
    if isinstance(names, dict):
        try:
            names = [names[k] for k in sorted(names, key=int)]
        except (TypeError, ValueError):
            raise GraceError(f"{yaml_path}: 'names' keys must be class ids 0..n-1") from None
    if not names or not isinstance(names, list):
        raise GraceError(f"{yaml_path}: no class 'names'")
    nc = data.get("nc")
    if nc is not None and int(nc) != len(names):
        raise GraceError(f"{yaml_path}: nc is {nc} but there are {len(names)} names")
    return [str(n) for n in names]


def read_yolo_dataset(
    path: str | Path, required: tuple[str, ...] = ("train", "val")
) -> YoloDataset:
    """Read ``data.yaml`` (or a folder holding it). Splits are ``train``, ``val`` (also spelt
    ``valid``) and ``test``; a listed split whose folder is missing, or a missing required
    split, is a :class:`GraceError`."""
    yaml_path = find_data_yaml(path)
    try:
        data = yaml.safe_load(yaml_path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise GraceError(f"{yaml_path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise GraceError(f"{yaml_path}: expected a mapping with 'train', 'val' and 'names'")
    names = _names(data, yaml_path)
    root = Path(str(data.get("path") or yaml_path.parent))
    root = root if root.is_absolute() else yaml_path.parent / root
    ds = YoloDataset(yaml_path, names)
    for split, keys in SPLIT_KEYS.items():
        key = next((k for k in keys if data.get(k)), None)
        if key is None:
            if split in required:
                raise GraceError(f"{yaml_path}: no '{split}' entry")
            continue
        if not isinstance(data[key], str):
            raise GraceError(f"{yaml_path}: '{key}' must be one folder (lists are not supported)")
        folder = _resolve_split(yaml_path, root, data[key])
        if folder is None:
            raise GraceError(f"{yaml_path}: {key} folder {data[key]!r} not found")
        images = sorted((p for p in folder.rglob("*") if is_image_name(p)), key=name_order)
        ds.splits[split] = (folder, images)
    return ds


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder becomes ``labels``, suffix ``.txt``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def label_candidates(image: Path) -> tuple[Path, ...]:
    """Where ``image``'s label file may be, in order: Ultralytics' :func:`label_path`, then
    beside the image (Roboflow and LabelImg exports without a ``labels/`` folder)."""
    beside = image.with_suffix(".txt")
    first = label_path(image)
    return (first,) if first == beside else (first, beside)


def find_label(image: Path) -> Path | None:
    """The first of :func:`label_candidates` that is a file, or None."""
    return next((p for p in label_candidates(image) if p.is_file()), None)


@dataclass(frozen=True)
class LabelBox:
    """A parsed label line: class id, normalised centre and size, and the line to write
    (the original text, or a rewritten one when the box was clipped or was a polygon)."""

    cls: int
    cx: float
    cy: float
    w: float
    h: float
    text: str


def parse_label_text(text: str, nc: int) -> tuple[list[LabelBox], list[tuple[int, str, str]]]:
    """Parse a YOLO label file's text. Returns the boxes kept and ``(line, kind, detail)`` for
    each line dropped or fixed (kinds of :data:`~grace.data.problems.HANDLING`)."""
    boxes: list[LabelBox] = []
    issues: list[tuple[int, str, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        f = line.split()
        if not f:
            continue
        try:
            values = [float(x) for x in f]
        except ValueError:
            issues.append((n, "malformed_label", f"not numbers: {line.strip()!r}"))
            continue
        if not all(math.isfinite(v) for v in values) or values[0] != int(values[0]):
            issues.append((n, "malformed_label", f"bad class id or value: {line.strip()!r}"))
            continue
        cls, coords = int(values[0]), values[1:]
        polygon = len(coords) >= 6 and len(coords) % 2 == 0
        if len(coords) != 4 and not polygon:
            issues.append((n, "malformed_label", f"{len(f)} fields: {line.strip()!r}"))
            continue
        if not 0 <= cls < nc:
            issues.append((n, "class_out_of_range", f"class {cls} not in 0..{nc - 1}"))
            continue
        if polygon:
            xs, ys = coords[0::2], coords[1::2]
            x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
            coords = [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]
            issues.append((n, "polygon_label", f"{len(xs)}-point polygon -> its bounding box"))
        check = check_normalised(*coords)
        if check.box is None or check.status == "clipped":
            box = " ".join(f"{v:g}" for v in coords)
            issues.append((n, _FIX_KIND[check.status], f"box (cx cy w h) {box}"))
        if check.box is None:
            continue
        if check.status == "ok" and not polygon:
            boxes.append(LabelBox(cls, *coords, " ".join(f)))
            continue
        x0, y0, x1, y1 = check.box
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
        boxes.append(LabelBox(cls, cx, cy, w, h, f"{cls} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"))
    return boxes, issues


def load_labels(image: Path, nc: int) -> tuple[list[LabelBox] | None, list[Problem]]:
    """The boxes of ``image``'s label file (found by :func:`find_label`; None when it has none)
    and a problem, naming the label file and line, for every line dropped or fixed and every
    repeated box."""
    label = find_label(image)
    if label is None:
        where = " or ".join(str(p) for p in label_candidates(image))
        return None, [Problem(str(image), "image_without_label", f"no {where}")]
    try:
        text = label.read_text()
    except (OSError, UnicodeDecodeError) as e:
        return [], [Problem(str(label), "malformed_label", f"unreadable ({e}); no boxes kept")]
    boxes, issues = parse_label_text(text, nc)
    problems = [Problem(str(label), kind, f"line {n}: {detail}") for n, kind, detail in issues]
    seen: set[tuple] = set()
    for b in boxes:
        key = (b.cls, b.cx, b.cy, b.w, b.h)
        if key in seen:
            problems.append(Problem(str(label), "duplicate_box", f"'{b.text}' twice"))
        seen.add(key)
    return boxes, problems


def orphan_labels(folder: Path, images: list[Path]) -> list[Path]:
    """Label files that belong to no image of the split: under the split's labels folder, and
    beside its images (``.txt`` files in the image folder)."""
    expected = {c for p in images for c in label_candidates(p)}
    found: set[Path] = set()
    for d in {label_path(folder / "x.jpg").parent, folder}:
        if d.is_dir():
            found.update(p for p in d.rglob("*.txt") if p not in expected)
    return sorted(found, key=name_order)
