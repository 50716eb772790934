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
    """``names`` in id order; ``splits``: split -> (image folder, images sorted by name), every
    path absolute; ``root`` the dataset root (``path:``) and ``raw`` the YAML as written."""

    yaml_path: Path
    names: list[str]
    splits: dict[str, tuple[Path, list[Path]]] = field(default_factory=dict)
    root: Path | None = None
    raw: dict = field(default_factory=dict)

    def trainer_data(self) -> dict:
        """The dataset dict Ultralytics' trainer and validator expect (what its
        ``check_det_dataset`` returns), built from *this* reading, so that training and
        validation see exactly the folders ``grace data stats`` reports on."""
        keys = {k for spellings in SPLIT_KEYS.values() for k in spellings}
        data = {k: v for k, v in self.raw.items() if k not in keys}
        data.update(
            path=str(self.root or self.yaml_path.parent),
            names=dict(enumerate(self.names)),
            nc=len(self.names),
            channels=int(self.raw.get("channels", 3)),
            yaml_file=str(self.yaml_path),
        )
        for split, (folder, _) in self.splits.items():
            data[split] = str(folder)
        return data

    def write_resolved_yaml(self, path: str | Path) -> Path:
        """Write a data.yaml with absolute folders (for a tool that reads its own YAML)."""
        from grace.fileio import atomic_write_text

        data = {k: v for k, v in self.trainer_data().items() if k != "yaml_file"}
        atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return Path(path)


def find_data_yaml(path: str | Path) -> Path:
    """``path`` itself, or the ``data.yaml`` (or single ``*.yaml``) in the folder ``path``;
    always absolute."""
    p = Path(path).expanduser().absolute()
    if p.is_file():
        return p
    if not p.is_dir():
        raise GraceError(f"{path}: not found")
    if (p / "data.yaml").is_file():
        return p / "data.yaml"
    found = sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml"))
    if len(found) != 1:
        raise GraceError(f"{path}: no data.yaml (found {len(found)} YAML files)")
    return found[0]


def _dataset_root(data: dict, yaml_path: Path) -> Path:
    """The dataset root: ``path:`` when given, else the YAML's folder. A relative ``path:``
    is taken from the current directory as Ultralytics does, else from the YAML's folder (a
    dataset moved together with its data.yaml)."""
    given = data.get("path")
    if not given:
        return yaml_path.parent
    p = Path(str(given)).expanduser()
    if p.is_absolute():
        return p
    for base in (Path.cwd(), yaml_path.parent):
        if (base / p).is_dir():
            return (base / p).resolve()
    return (yaml_path.parent / p).resolve()


def _resolve_split(yaml_path: Path, root: Path, entry: str) -> Path | None:
    """The folder a split entry means: Ultralytics' reading first (``root/entry``, then without
    a leading ``../``); Roboflow writes ``../train/images`` relative to a parent that does not
    exist, so then the usual readings of an export; the first folder that exists."""
    e = Path(str(entry)).expanduser()
    if e.is_absolute():
        return e if e.is_dir() else None
    here = yaml_path.parent
    stripped = Path(*[p for p in e.parts if p not in ("..", ".")] or ["."])
    candidates = [root / e]
    if str(entry).startswith("../"):
        candidates.append(root / str(entry)[3:])
    candidates += [here / e, here / stripped]
    candidates.append(here / Path(*e.parts[-2:]) if len(e.parts) >= 2 else here / e.name)
    return next((c.resolve() for c in candidates if c.is_dir()), None)


def _class_count(value: object, yaml_path: Path) -> int:
    try:
        n = float(value)  # type: ignore[arg-type]
        if n != int(n) or n < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise GraceError(
            f"{yaml_path}: nc must be a whole number of classes (got {value!r})"
        ) from None
    return int(n)


def _names(data: dict, yaml_path: Path) -> list[str]:
    """Class names in id order. ``names`` is a list, or a mapping whose keys are the ids
    0..n-1 written as numbers or as text (Ultralytics reads both); without ``names``, ``nc``
    gives ``class_0`` ... as Ultralytics does."""
    names = data.get("names")
    nc = data.get("nc")
    if names is None and nc is not None:
        return [f"class_{i}" for i in range(_class_count(nc, yaml_path))]
    if isinstance(names, dict):
        ids: dict[int, object] = {}
        for k, v in names.items():
            try:
                i = int(str(k).strip())
            except ValueError:
                raise GraceError(
                    f"{yaml_path}: 'names' key {k!r} is not a class id "
                    f"(expected 0..{len(names) - 1})"
                ) from None
            if i in ids:
                raise GraceError(f"{yaml_path}: 'names' has class id {i} twice ({ids[i]!r}, {v!r})")
            ids[i] = v
        if sorted(ids) != list(range(len(ids))):
            raise GraceError(
                f"{yaml_path}: 'names' ids must be 0..{len(ids) - 1} (got {sorted(ids)})"
            )
        names = [ids[i] for i in range(len(ids))]
    if not names or not isinstance(names, list):
        raise GraceError(f"{yaml_path}: no class 'names'")
    if nc is not None and _class_count(nc, yaml_path) != len(names):
        raise GraceError(f"{yaml_path}: nc is {nc} but there are {len(names)} names")
    return [str(n) for n in names]


def read_yolo_dataset(
    path: str | Path, required: tuple[str, ...] = ("train", "val")
) -> YoloDataset:
    """Read ``data.yaml`` (or a folder holding it): the one reader of dataset files, used by
    stats, import, training, validation and the application.

    Splits are ``train``, ``val`` (also spelt ``valid`` or ``validation``) and ``test``,
    resolved as in :func:`_dataset_root` and :func:`_resolve_split`. A listed split whose
    folder is missing, a missing required split, bad ``names``/``nc``, or a file that is not
    YAML is a :class:`GraceError` naming the file.
    """
    yaml_path = find_data_yaml(path)
    try:
        data = yaml.safe_load(yaml_path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise GraceError(
            f"{yaml_path}: not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start})"
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise GraceError(f"{yaml_path}: not valid YAML{where} ({what})") from None
    except OSError as e:
        raise GraceError(f"{yaml_path}: cannot read ({e.strerror or e})") from None
    if not isinstance(data, dict):
        raise GraceError(f"{yaml_path}: expected a mapping with 'train', 'val' and 'names'")
    names = _names(data, yaml_path)
    root = _dataset_root(data, yaml_path)
    ds = YoloDataset(yaml_path, names, root=root, raw=data)
    for split, keys in SPLIT_KEYS.items():
        key = next((k for k in keys if data.get(k)), None)
        if key is None:
            if split in required:
                raise GraceError(f"{yaml_path}: no '{split}' entry")
            continue
        if not isinstance(data[key], str):
            raise GraceError(
                f"{yaml_path}: '{key}' must be one folder (lists and .txt image lists are not "
                "supported)"
            )
        folder = _resolve_split(yaml_path, root, data[key])
        if folder is None:
            raise GraceError(f"{yaml_path}: {key} folder {data[key]!r} not found (root {root})")
        images = sorted((p for p in folder.rglob("*") if is_image_name(p)), key=name_order)
        if split in required and not images:
            raise GraceError(f"{yaml_path}: the {split} split has no images ({folder})")
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
        text = label.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        where = f"byte {e.object[e.start]:#04x} at offset {e.start}"
        return [], [
            Problem(str(label), "malformed_label", f"not UTF-8 text ({where}); no boxes kept")
        ]
    except OSError as e:
        return [], [
            Problem(str(label), "malformed_label", f"unreadable ({e.strerror or e}); no boxes kept")
        ]
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
