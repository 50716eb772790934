"""``grace review new``: make a store from a model's results (the I/O around
:mod:`grace.review.queues`).

Sources: a labelled split (``data``; the errors of ``grace val``'s output, run here when it is
missing), a folder of images (``images``; the engine's predictor runs on it), or a
``grace predict --save-json`` output folder (``predictions``). Every image, model and threshold
recorded is named in the store; what could not be used is reported in ``problems``.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grace.data.images import sha256_file
from grace.errors import GraceError
from grace.eval.records import ImageRecord
from grace.infer.threshold_file import read_thresholds, thresholds_json
from grace.infer.thresholds import ClassThresholds
from grace.review import queues
from grace.review.store import ImageEntry, ItemEntry, create_store, now_iso

QUEUES = ("errors", "uncertain", "spot")


@dataclass
class NewStore:
    """What ``grace review new`` was asked for (see its ``--help``)."""

    store: str
    weights: str
    data: str | None = None
    split: str = "val"
    images: str | None = None
    predictions: str | None = None
    queue: str | None = None
    thresholds: str | None = None
    band: float = 0.1
    fraction: float = 0.05
    seed: int = 0
    val_dir: str | None = None
    imgsz: int | None = None
    device: str = ""
    second_weights: str | None = None
    problems: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _same_file(a: str, b: str) -> bool:
    pa, pb = Path(a), Path(b)
    if pa.exists() and pb.exists():
        return pa.resolve() == pb.resolve()
    return pa.name == pb.name


def _val_output(req: NewStore, log: Callable[[str], None]) -> Path:
    """The ``grace val`` output folder for ``req`` (checked, or made by running val)."""
    from grace.eval.validate import ERRORS_FILE, METRICS_FILE, PREDICTIONS_FILE, default_out_dir

    if req.split != "val":
        raise GraceError(f"--split {req.split}: the errors queue reads grace val's output, which "
                         "covers the val split only")  # fmt: skip
    out = Path(req.val_dir) if req.val_dir else default_out_dir(req.weights)
    needed = [out / f for f in (METRICS_FILE, ERRORS_FILE, PREDICTIONS_FILE)]
    if req.val_dir and not all(p.is_file() for p in needed):
        missing = next(p for p in needed if not p.is_file())
        raise GraceError(f"{missing}: not found (--val-dir must be a grace val --out folder)")
    if not all(p.is_file() for p in needed):
        from grace.eval.validate import validate

        log(f"grace review: no grace val output at {out}; running grace val (--out {out})")
        validate(req.weights, req.data, imgsz=req.imgsz, device=req.device, out=out)
    try:
        metrics = json.loads(needed[0].read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise GraceError(f"{needed[0]}: unreadable ({type(e).__name__})") from None
    if not _same_file(str(metrics.get("weights", "")), req.weights):
        raise GraceError(f"{needed[0]}: grace val of {metrics.get('weights')}, not "
                         f"{req.weights}; pass that model or another --val-dir")  # fmt: skip
    if not _same_file(str(metrics.get("data", "")), str(req.data)):
        raise GraceError(f"{needed[0]}: grace val on {metrics.get('data')}, not {req.data}")
    return out


def _errors(req: NewStore, log) -> tuple[list[ImageEntry], list[ItemEntry], ClassThresholds]:
    from grace.data.yolo_layout import find_label, read_yolo_dataset
    from grace.eval.records import load_records
    from grace.eval.validate import ERRORS_FILE, PREDICTIONS_FILE

    ds = read_yolo_dataset(req.data)
    out = _val_output(req, log)
    try:
        records, names, _ = load_records(out / PREDICTIONS_FILE)
        report = json.loads((out / ERRORS_FILE).read_text(encoding="utf-8"))
        conf, iou = float(report["confidence"]), float(report["iou"])
    except (OSError, ValueError, KeyError) as e:
        raise GraceError(f"{out}: grace val output unreadable ({type(e).__name__}: {e})") from None
    if names != ds.names:
        raise GraceError(f"{out}: classes {names} differ from {ds.yaml_path}'s {ds.names}")
    th = read_thresholds(req.thresholds, names) if req.thresholds else ClassThresholds(conf)
    images, items = queues.errors_queue(records, names, th, iou)
    for im in images:
        label = find_label(Path(im.path))
        im.label_file = str(label) if label else None
    return images, items, th


def _predicted(req: NewStore, weights: str, th_file: str | None, log):
    """Records of the predictor run over ``req.images`` at the lowest threshold minus the band,
    its class names and the thresholds."""
    from grace.infer.predictor import Predictor
    from grace.infer.run import PredictRequest, run_predict

    p = Predictor(weights, imgsz=req.imgsz, device=req.device)
    th = read_thresholds(th_file, p.names) if th_file else _default_thresholds(p.ref, p.names)
    floor = max(0.0, th.floor - req.band)
    records: list[ImageRecord] = []

    def keep(results) -> None:
        for r in results:
            f = r.frame
            records.append(
                ImageRecord(
                    str(Path(f.source).absolute()),
                    f.width,
                    f.height,
                    boxes=r.boxes,
                    scores=r.scores,
                    classes=r.classes,
                )
            )

    summary = run_predict(PredictRequest(weights, req.images, conf=floor, imgsz=req.imgsz,
                                         device=req.device), predictor=p, on_results=keep,
                          log=log)  # fmt: skip
    for s in summary.skipped:
        req.problems.append({"file": s["file"], "kind": "unreadable_image",
                             "detail": str(s.get("reason", ""))})  # fmt: skip
    return records, list(p.names), th


def _from_predictions(req: NewStore) -> tuple[list[ImageRecord], list[str], ClassThresholds]:
    """Records from ``grace predict --save-json``'s ``predictions.json`` (+ ``summary.json``)."""
    from grace.data.images import is_image_name
    from grace.infer.thresholds import make_thresholds

    folder = Path(req.predictions)
    pj, sj = folder / "predictions.json", folder / "summary.json"
    try:
        rows = json.loads(pj.read_text(encoding="utf-8"))
        summary = json.loads(sj.read_text(encoding="utf-8")) if sj.is_file() else {}
    except FileNotFoundError:
        raise GraceError(f"{pj}: not found (run grace predict --out DIR --save-json)") from None
    except (OSError, ValueError) as e:
        raise GraceError(f"{pj}: unreadable ({type(e).__name__})") from None
    if not isinstance(rows, list):
        raise GraceError(f"{pj}: expected a JSON array of detections")
    if summary.get("weights") and not _same_file(summary["weights"], req.weights):
        raise GraceError(f"{sj}: predictions of {summary['weights']}, not {req.weights}")
    names = _model_names(req.weights)
    grouped: dict[str, list[dict]] = {}
    for n, r in enumerate(rows):
        try:
            src, c = str(r["source"]), int(r["class_id"])
            float(r["confidence"]), [float(r[k]) for k in ("x1", "y1", "x2", "y2")]
            int(r["width"]), int(r["height"])
        except (KeyError, TypeError, ValueError):
            raise GraceError(f"{pj}: record {n} is not a grace predict record") from None
        if not 0 <= c < len(names):
            raise GraceError(f"{pj}: record {n}: class id {c} is not a class of {req.weights}")
        if not is_image_name(Path(src)):
            req.problems.append(
                {
                    "file": src,
                    "kind": "not_an_image",
                    "detail": "video or stream frames are not reviewed",
                }
            )
            continue
        grouped.setdefault(src, []).append(r)
    records = []
    for src, rs in grouped.items():
        p = Path(src) if Path(src).is_absolute() else (Path.cwd() / src)
        records.append(ImageRecord(
            str(p), int(rs[0]["width"]), int(rs[0]["height"]),
            boxes=[[r["x1"], r["y1"], r["x2"], r["y2"]] for r in rs],
            scores=[r["confidence"] for r in rs], classes=[r["class_id"] for r in rs]))  # fmt: skip
    if req.thresholds:
        th = read_thresholds(req.thresholds, names)
    else:
        th = _default_thresholds(req.weights, names)
    settings = summary.get("settings", {})
    saved = make_thresholds(settings.get("conf", 0.0), settings.get("class_conf") or {}, names)
    for c, name in enumerate(names):
        need = max(0.0, (th.per_class.get(c, th.conf)) - req.band)
        have = saved.per_class.get(c, saved.conf)
        if need < have:
            req.warnings.append(f"{pj}: {name} detections under {have:g} were not saved by grace "
                                f"predict, so the band's lower part ({need:g}-{have:g}) is "
                                f"empty; rerun grace predict with --conf {need:g}")  # fmt: skip
    return records, names, th


def _default_thresholds(model, names: list[str]) -> ClassThresholds:
    """Without ``--thresholds``: a model package's own thresholds, else conf 0.25 for all."""
    from grace.deploy.runtime import ModelRef, package_thresholds, resolve_model
    from grace.infer.threshold_file import DEFAULT_CONF

    ref = model if isinstance(model, ModelRef) else resolve_model(model)
    return package_thresholds(ref, list(names)) or ClassThresholds(DEFAULT_CONF)


def _model_names(weights: str) -> list[str]:
    from grace.deploy.runtime import load_model

    names = load_model(weights)[0].names
    return [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else list(names)


def make_store(req: NewStore, log: Callable[[str], None] = _log) -> dict[str, Any]:
    """Build the queue ``req`` asks for and write the store; returns a JSON-ready summary."""
    from grace.argcheck import check_values

    sources = [x for x in (req.data, req.images, req.predictions) if x]
    if len(sources) != 1:
        raise GraceError("give exactly one of --data, --images, --predictions")
    queue = req.queue or ("errors" if req.data else "uncertain")
    if queue not in QUEUES:
        raise GraceError(f"--queue {queue!r}: one of {', '.join(QUEUES)}")
    if req.data and queue != "errors":
        raise GraceError(f"--queue {queue}: works on unlabelled images (--images or "
                         "--predictions); on a labelled split use --queue errors")  # fmt: skip
    if not req.data and queue == "errors":
        raise GraceError("--queue errors: needs a labelled split (--data)")
    if not (0 <= req.band <= 1):
        raise GraceError(f"--band {req.band}: must lie in 0..1")
    if not (0 < req.fraction <= 1):
        raise GraceError(f"--fraction {req.fraction}: must lie in (0, 1]")
    if req.imgsz is not None:
        check_values(imgsz=req.imgsz)
    from grace.deploy.runtime import model_sha256, resolve_model

    for w in (req.weights, req.second_weights):
        if w:
            resolve_model(w)  # a checkpoint, an exported model or a package; else one line
    store = Path(req.store)
    if store.exists():
        raise GraceError(f"{store}: exists; a review store is made once (choose a new file)")
    if not store.parent.is_dir():
        raise GraceError(f"{store.parent}: folder not found")
    model_sha = model_sha256(req.weights)
    if req.data:
        images, items, th = _errors(req, log)
        names = _dataset_names(req.data)
    else:
        if req.images:
            records, names, th = _predicted(req, req.weights, req.thresholds, log)
        else:
            records, names, th = _from_predictions(req)
        if req.second_weights:
            if not req.images:
                raise GraceError("--second-weights: needs --images (both models run here)")
            rb, names_b, _ = _predicted(req, req.second_weights, None, log)
            if names_b != names:
                raise GraceError(f"{req.second_weights}: classes {names_b} differ from {names}")
            rb = [ImageRecord(r.file, r.width, r.height, boxes=r.boxes, scores=r.scores,
                              classes=r.classes) for r in rb]  # fmt: skip
            images, items = queues.disagreement_queue(
                records, rb, names, th, (str(Path(req.second_weights).absolute()),
                                         model_sha256(req.second_weights)))  # fmt: skip
        elif queue == "uncertain":
            images, items = queues.uncertain_queue(records, names, th, req.band)
        else:
            images, items = queues.spot_queue(records, names, th, req.fraction, req.band, req.seed)
    th_json = thresholds_json(th, names)
    for it in items:
        it.model_path = it.model_path or str(Path(req.weights).absolute())
        it.model_sha256 = it.model_sha256 or model_sha
        it.thresholds = th_json
    for im in images:
        if Path(im.path).is_file():
            im.sha256 = sha256_file(im.path)
        else:
            req.problems.append(
                {
                    "file": im.path,
                    "kind": "missing_image",
                    "detail": "not found when the store was made; listed, flagged",
                }
            )
    meta = {
        "names": names, "queue": queue, "created": now_iso(), "created_by": getpass.getuser(),
        "source": {k: str(Path(v).absolute()) for k, v in
                   (("data", req.data), ("images", req.images), ("predictions", req.predictions))
                   if v},
        "split": req.split if req.data else None,
        "model": {"path": str(Path(req.weights).absolute()), "sha256": model_sha},
        "thresholds": th_json, "band": req.band, "fraction": req.fraction, "seed": req.seed,
        "problems": req.problems, "warnings": req.warnings,
    }  # fmt: skip
    create_store(store, meta, images, items)
    kinds: dict[str, int] = {}
    for it in items:
        kinds[it.kind] = kinds.get(it.kind, 0) + 1
    return {"store": str(store), "queue": queue, "items": len(items), "images": len(images),
            "by_kind": kinds, "thresholds": th_json, "problems": req.problems,
            "warnings": req.warnings}  # fmt: skip


def _dataset_names(data: str) -> list[str]:
    from grace.data.yolo_layout import read_yolo_dataset

    return read_yolo_dataset(data).names
