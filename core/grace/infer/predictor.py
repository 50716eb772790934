"""The model side of inference: batches of frames in, filtered detections per frame out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from grace.errors import GraceError
from grace.infer.frames import Frame
from grace.infer.stamp import RunStamp, video_seconds
from grace.infer.thresholds import ClassThresholds

RECORD_FIELDS = (
    "source",
    "frame",
    "class",
    "class_id",
    "confidence",
    "x1",
    "y1",
    "x2",
    "y2",
    "width",
    "height",
    "model",
    "model_path",
    "model_sha256",
    "threshold",
    "timestamp_s",
    "time",
)


@dataclass
class FrameResult:
    """The detections kept for one frame; boxes are ``x1, y1, x2, y2`` in pixels of the
    original image."""

    frame: Frame
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(len(self.scores))

    def records(self, names: Sequence[str], model: str | RunStamp) -> list[dict]:
        """One dict per detection with the fields of :data:`RECORD_FIELDS`.

        ``model`` is the run's :class:`~grace.infer.stamp.RunStamp` (full path, SHA-256,
        thresholds, start time), or only the checkpoint's file name (the other fields empty).
        ``timestamp_s`` is a video frame's position (index / fps), ``None`` for a still image.
        """
        stamp = model if isinstance(model, RunStamp) else RunStamp(str(model))
        f = self.frame
        seconds = video_seconds(int(f.index), f.fps) if f.is_video else None
        out = []
        for box, s, c in zip(
            self.boxes.tolist(), self.scores.tolist(), self.classes.tolist(), strict=True
        ):
            c = int(c)
            rec = {
                "source": f.source,
                "frame": int(f.index),
                "class": str(names[c]) if 0 <= c < len(names) else str(c),
                "class_id": c,
                "confidence": round(float(s), 5),
                "x1": round(box[0], 2),
                "y1": round(box[1], 2),
                "x2": round(box[2], 2),
                "y2": round(box[3], 2),
                "width": f.width,
                "height": f.height,
                **stamp.fields(c, f.time),
                "timestamp_s": seconds,
            }
            out.append({k: rec[k] for k in RECORD_FIELDS})
        return out


class FramePredictor(Protocol):
    """What the run loop needs from a predictor (a wrapper or a fake can stand in)."""

    names: list[str]
    model_name: str
    thresholds: ClassThresholds

    def predict(self, frames: Sequence[Frame]) -> list[FrameResult]: ...


def _names(model) -> list[str]:
    names = model.names
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    return [str(n) for n in names]


class Predictor:
    """A checkpoint (ours with Lite-FEN or plain Ultralytics) run through Ultralytics' own
    pre-processing, inference and NMS on batches of decoded frames, then filtered by global and
    per-class thresholds.

    Parameters
    ----------
    weights
        A checkpoint, an exported model (OpenVINO folder, ``.onnx``), a model package, or a
        :class:`grace.deploy.runtime.ModelRef`; anything else is a :class:`GraceError`.
    thresholds
        :class:`ClassThresholds`; may be set later (``predictor.thresholds = ...``), e.g. after
        reading :attr:`names` to validate per-class overrides.
    iou, imgsz, device, max_det
        NMS IoU, inference size (``None``: the checkpoint's training size), device (``""``:
        CUDA if available), detections per image.
    model
        An ``ultralytics.YOLO`` already loaded from ``weights`` to use instead of loading it
        again (the bench shares one with plain Ultralytics ``predict``).

    Notes
    -----
    After a first ``YOLO.predict`` call has set Ultralytics' predictor up (:meth:`warmup`),
    each batch goes through that predictor's own ``preprocess``, ``inference`` and
    ``postprocess`` (letterbox, forward, NMS, boxes scaled back to the original image), so
    the detections are exactly those of ``YOLO.predict`` on the same images and settings.
    """

    def __init__(
        self,
        weights: str | Path,
        thresholds: ClassThresholds | None = None,
        iou: float = 0.7,
        imgsz: int | None = None,
        device: str = "",
        max_det: int = 300,
        model=None,
    ) -> None:
        from grace.deploy.runtime import ModelRef, load_model, resolve_model

        # what the value names, checked before torch and Ultralytics load
        self.ref = weights if isinstance(weights, ModelRef) else resolve_model(weights)
        self.weights = self.ref.path
        if self.ref.exported and imgsz and self.ref.imgsz and int(imgsz) != self.ref.imgsz:
            raise GraceError(
                f"{weights}: exported for a {self.ref.imgsz}x{self.ref.imgsz} input; --imgsz "
                f"{imgsz} needs a new export at that size"
            )
        imgsz = imgsz or self.ref.imgsz  # an exported model or a package: its own input size
        self.model = model if model is not None else load_model(self.ref)[0]
        task = getattr(self.model, "task", "detect")
        if task not in ("detect", "segment", "pose"):
            raise GraceError(f"{weights}: a {task} model; grace predict needs a detection model")
        if not 0 <= iou <= 1:
            raise GraceError(f"--iou: must be between 0 and 1, got {iou}")
        self.names = _names(self.model)
        self.model_name = self.ref.name
        self.thresholds = thresholds or ClassThresholds()
        self.iou, self.imgsz, self.device, self.max_det = iou, imgsz, device, max_det
        self._engine_imgsz = None  # the letterbox size Ultralytics settled on at set-up
        self.precision = ""  # an OpenVINO model's inference precision, once set up
        self.last_input_shape: tuple[int, int] | None = None  # (h, w) of the last batch fed

    def _kwargs(self, n: int) -> dict:
        kw = {
            "conf": self.thresholds.floor,
            "iou": self.iou,
            "device": self.device,
            "max_det": self.max_det,
            "batch": max(1, n),
            "verbose": False,
            "save": False,
        }
        if self.imgsz:
            kw["imgsz"] = self.imgsz
        return kw

    def warmup(self) -> None:
        """Set the model up on its device before the first real frame (not timed)."""
        size = int(self.imgsz or 64)
        self.model.predict([np.zeros((size, size, 3), np.uint8)], **self._kwargs(1))
        from grace.deploy.runtime import apply_precision

        self.precision = apply_precision(self.model, self.ref)  # OpenVINO: as chosen at export
        self._engine_imgsz = getattr(self.model.predictor, "imgsz", None)

    @property
    def device_type(self) -> str:
        """``cpu``, ``cuda``, ``mps``... where the model runs (known once set up)."""
        engine = getattr(self.model, "predictor", None)
        device = getattr(engine, "device", None)
        return str(getattr(device, "type", "cpu" if self.device == "cpu" else ""))

    def _engine(self):
        """Ultralytics' predictor once set up, if it has the steps :meth:`_run_steps` uses."""
        if getattr(self.model, "predictor", None) is None or self._engine_imgsz is None:
            self.warmup()
        engine = self.model.predictor
        steps = ("preprocess", "inference", "postprocess", "args", "batch")
        return engine if all(hasattr(engine, s) for s in steps) else None

    def _run_steps(self, engine, images: list[np.ndarray]) -> list:
        """Ultralytics' own preprocess, inference and NMS on one batch, without the per-call
        set-up of ``YOLO.predict`` (argument checks, source loader, callbacks), which on a
        small model costs several percent of the folder throughput."""
        import contextlib

        import torch

        n = len(images)
        with getattr(engine, "_lock", None) or contextlib.nullcontext(), torch.inference_mode():
            engine.args.conf, engine.args.iou = self.thresholds.floor, self.iou
            engine.args.max_det = self.max_det
            engine.imgsz = self._engine_imgsz  # in case another caller changed it
            engine.batch = ([f"image{i}.jpg" for i in range(n)], images, [""] * n)
            im = engine.preprocess(images)
            self.last_input_shape = (int(im.shape[2]), int(im.shape[3]))
            return engine.postprocess(engine.inference(im), im, images)

    def predict(self, frames: Sequence[Frame]) -> list[FrameResult]:
        """Detections for each frame of one batch, in order."""
        if not frames:
            return []
        import torch

        images = [np.ascontiguousarray(f.image) for f in frames]
        engine = self._engine()
        if engine is not None:
            results = self._run_steps(engine, images)
        else:  # another Ultralytics layout: the public call, with its per-call set-up
            results = self.model.predict(images, **self._kwargs(len(frames)))
            self.last_input_shape = None  # not known through the public call
        datas = [r.boxes.data if r.boxes is not None else None for r in results]
        if any(d is None for d in datas):
            dev = next((d.device for d in datas if d is not None), "cpu")
            datas = [d if d is not None else torch.zeros((0, 6), device=dev) for d in datas]
        datas = [d[:, [0, 1, 2, 3, -2, -1]] for d in datas]  # x1 y1 x2 y2 (track id) conf cls
        # one device-to-host copy per batch, not one per image
        rows = torch.cat(datas).detach().float().cpu().numpy()
        out, start = [], 0
        for f, d in zip(frames, datas, strict=True):
            data, start = rows[start : start + len(d)], start + len(d)
            boxes, scores, classes = data[:, :4], data[:, 4], data[:, 5].astype(np.int64)
            keep = self.thresholds.keep(scores, classes)
            out.append(FrameResult(f, boxes[keep], scores[keep], classes[keep]))
        return out
