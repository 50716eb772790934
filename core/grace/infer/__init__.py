"""Inference: sources (image, folder, glob, video, camera, stream), predictor, exports.

Qt-free services the CLI (``grace predict``) and the GUI share: :func:`resolve_source` /
:func:`open_source` give frames with their origin (files in order and in batches; live sources
newest-frame-only with reconnection), :class:`Predictor` runs a checkpoint on a batch and applies
:class:`ClassThresholds`, :class:`Outputs` writes CSV/JSON/annotated files, :class:`Summary`
counts, and :func:`run_predict` ties them together. Importing this package loads neither torch
nor OpenCV.
"""

from __future__ import annotations

from grace.colors import class_color
from grace.images import draw_detections
from grace.infer.frames import Frame, Skipped, SourceStats
from grace.infer.live import LatestFrame, LiveSource, ReconnectPolicy
from grace.infer.predictor import RECORD_FIELDS, FrameResult, Predictor
from grace.infer.run import PredictRequest, run_predict
from grace.infer.sources import FileSource, SourceSpec, open_source, resolve_source
from grace.infer.summary import Summary
from grace.infer.thresholds import ClassThresholds, make_thresholds, parse_class_conf
from grace.infer.writers import AnnotatedWriter, CsvWriter, JsonWriter, Outputs

__all__ = [
    "RECORD_FIELDS",
    "AnnotatedWriter",
    "ClassThresholds",
    "CsvWriter",
    "FileSource",
    "Frame",
    "FrameResult",
    "JsonWriter",
    "LatestFrame",
    "LiveSource",
    "Outputs",
    "PredictRequest",
    "Predictor",
    "ReconnectPolicy",
    "Skipped",
    "SourceSpec",
    "SourceStats",
    "Summary",
    "class_color",
    "draw_detections",
    "make_thresholds",
    "open_source",
    "parse_class_conf",
    "resolve_source",
    "run_predict",
]
