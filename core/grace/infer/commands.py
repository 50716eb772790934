"""``grace predict``, registered by :mod:`grace.cli`."""

from __future__ import annotations

import argparse

from grace.errors import GraceError, Interrupted
from grace.infer.live import ReconnectPolicy

_EPILOG = """\
SOURCE is an image, a folder, a glob ("data/**/*.jpg", quoted), a video file, a camera index
(0) or a stream URL (http MJPEG, rtsp). Live sources (camera, stream, a video with --live) keep
only the newest frame: frames that arrive while the model is busy are dropped and counted; a
dropped stream reconnects with back-off. Stop a live run with Ctrl-C, --max-frames or
--duration; the outputs written so far are kept. Files saved under --out: predictions.csv,
predictions.json (one record per detection: source, frame, class, class_id, confidence,
x1 y1 x2 y2 in pixels, width, height, model, model_path (absolute), model_sha256, threshold
(the one its class had to reach), timestamp_s (a video frame's position, index / fps; empty for
still images), time (when the frame was read, ISO 8601)), annotated images (same names) or
videos (.mp4), summary.json.
"""


def _split_source(a: argparse.Namespace) -> tuple[str, list[str]]:
    """``--class-conf a=0.4 SOURCE`` lets argparse take SOURCE as a threshold: give it back."""
    class_conf = list(a.class_conf or [])
    source = a.source
    strays = [c for c in class_conf if "=" not in c]
    if source is None and len(strays) == 1 and class_conf[-1] == strays[0]:
        source = class_conf.pop()
    if source is None:
        raise GraceError("no SOURCE given: an image, folder, glob, video, camera index or URL")
    return source, class_conf


def _cmd_predict(a: argparse.Namespace) -> dict:
    from grace.infer.run import PredictRequest, run_predict

    source, class_conf = _split_source(a)
    req = PredictRequest(
        weights=a.weights,
        source=source,
        conf=a.conf,
        class_conf=class_conf,
        thresholds=a.thresholds,
        iou=a.iou,
        imgsz=a.imgsz,
        batch=a.batch,
        device=a.device,
        max_det=a.max_det,
        out=a.out,
        save_csv=a.save_csv,
        save_json=a.save_json,
        save_img=a.save_img,
        live=a.live,
        max_frames=a.max_frames,
        duration=a.duration,
        reconnect=ReconnectPolicy(
            initial_delay=a.reconnect_delay,
            max_delay=max(a.reconnect_delay, a.reconnect_max_delay),
            max_attempts=a.reconnect_attempts,
            connect_attempts=a.connect_attempts,
        ),
        timeout=a.timeout,
    )
    summary = run_predict(req)
    if summary.stop_reason == "interrupted":  # Ctrl-C: outputs so far are kept, exit 130
        raise Interrupted(summary.as_dict())
    return summary.as_dict()


def add_infer_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``grace predict``."""
    p = sub.add_parser(
        "predict",
        help="detect defects in images, folders, videos, cameras and streams",
        description="Detect defects with a checkpoint (ours or plain Ultralytics), an exported "
        "model (OpenVINO folder, .onnx) or a model package. Thresholds: --conf/--class-conf, "
        "over --thresholds FILE|auto, over a package's own, over the default conf 0.25.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source", metavar="SOURCE", nargs="?", help="image, folder, glob, video, camera, URL"
    )
    p.add_argument(
        "--weights", required=True, help="checkpoint (.pt), OpenVINO folder, .onnx or package"
    )
    p.add_argument(
        "--conf",
        type=float,
        help="global confidence threshold (default: the --thresholds file's, else a package's "
        "thresholds, else 0.25)",
    )
    p.add_argument(
        "--thresholds",
        metavar="FILE|auto",
        help="per-class thresholds from grace calibrate (auto: <weights stem>.thresholds.json "
        "beside the weights); used instead of a package's own; --conf and --class-conf "
        "override it",
    )
    p.add_argument(
        "--class-conf",
        nargs="+",
        metavar="NAME=VALUE",
        action="extend",
        help="per-class thresholds over --conf: scratches=0.4 pits=0.3 (above 1 hides a class)",
    )
    p.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold (%(default)s)")
    p.add_argument("--imgsz", type=int, help="inference size (default: the checkpoint's)")
    p.add_argument(
        "--batch", type=int, default=8, help="images per batch for files (%(default)s; live: 1)"
    )
    p.add_argument("--device", default="", help="cpu, 0, ... (default: CUDA if available)")
    p.add_argument("--max-det", type=int, default=300, help="detections per image at most")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output folder; gets summary.json (default with --save-*: runs/grace/predict[N])",
    )
    p.add_argument("--save-csv", action="store_true", help="write predictions.csv")
    p.add_argument("--save-json", action="store_true", help="write predictions.json")
    p.add_argument("--save-img", action="store_true", help="write annotated images or videos")
    p.add_argument(
        "--live", action="store_true", help="play a video file in real time, as a camera"
    )
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="stream connect/read timeout"
    )
    p.add_argument(
        "--connect-attempts", type=int, default=3, help="tries to reach a stream at the start"
    )
    p.add_argument("--reconnect-attempts", type=int, default=10, help="tries after a stream drops")
    p.add_argument(
        "--reconnect-delay", type=float, default=0.5, metavar="S", help="first back-off wait"
    )
    p.add_argument(
        "--reconnect-max-delay", type=float, default=8.0, metavar="S", help="longest wait"
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=_cmd_predict)
