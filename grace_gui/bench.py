"""GUI benchmark: the Inference tab's folder throughput against the engine's own ``run_predict``
on the same folder, and the GUI thread's longest stall while the tab infers.

    python -m grace_gui.bench --weights W.pt FOLDER [--rounds 5] [--json]

Both sides use the same checkpoint loaded once each and warmed up (loading is outside the
timing), the same folder, device and threshold (the tab's floor, so that NMS sees the same
candidates), and are timed against each other by :func:`grace.benchmark.paired_ratio` (the tab
as A, the engine as B): ``ratio`` is the median over rounds of ``engine time / tab time``, i.e.
the tab's throughput over the engine's (target ≥ 0.9), with its quartiles ``ratio_q1``,
``ratio_q3`` and ``ratio_n`` rounds. The tab's time runs from pressing Run to the last record
in the table. The stall is the longest delay of a 5 ms timer on the GUI thread during the tab's
runs (target < 100 ms); ``stall_cold_ms`` includes the first run's model loading. Offscreen.

    python -m grace_gui.bench --stall [thumbnails,train] [--json]

adds the other GUI-thread stall figures (:mod:`grace_gui.bench_stall`): scrolling 10,000
thumbnails, and a real training streaming into the Train tab. These are figures, not test
assertions; the tests assert behaviour.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

TARGET_RATIO = 0.9
TARGET_STALL_MS = 100.0
STALL_PARTS = ("thumbnails", "train")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m grace_gui.bench", description=__doc__.split("\n")[0]
    )
    p.add_argument("folder", nargs="?", help="a folder of images (with --weights)")
    p.add_argument("--weights", help="checkpoint (.pt): the Inference tab figures")
    p.add_argument(
        "--stall",
        nargs="?",
        const="thumbnails,train",
        metavar="PARTS",
        help="also the stall figures of PARTS (default thumbnails,train)",
    )
    p.add_argument("--rounds", type=int, default=5, help="timed rounds per side (default 5)")
    p.add_argument("--device", default="cpu", help="cpu or a CUDA index (default cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    if bool(a.folder) != bool(a.weights) or not (a.folder or a.stall):
        p.error("give --weights W.pt FOLDER, --stall, or both")
    parts = tuple(x for x in (a.stall or "").split(",") if x)
    if bad := [x for x in parts if x not in STALL_PARTS]:
        p.error(f"--stall {a.stall}: unknown part {bad[0]!r} (use {', '.join(STALL_PARTS)})")
    if a.rounds < 1:
        p.error(f"--rounds {a.rounds}: must be at least 1")
    a.stall_parts = parts
    return a


def bench(weights: str, folder: str, rounds: int = 5, device: str = "cpu") -> dict:
    """The figures (see the module docstring); needs a QApplication."""
    from PySide6.QtCore import QEventLoop

    from grace.benchmark import paired_ratio
    from grace.errors import GraceError
    from grace.infer.predictor import Predictor
    from grace.infer.run import PredictRequest, run_predict
    from grace_gui.context import AppContext
    from grace_gui.sessions.inference import FLOOR
    from grace_gui.settings import open_settings
    from grace_gui.stall import StallMeter
    from grace_gui.tabs.inference_tab import InferenceTab
    from grace_gui.warmup import preload_engine
    from grace_gui.widgets.notifications import NotificationBar
    from grace_gui.workers.qthreading import long_job_pool

    preload_engine()  # as the application does before its window shows
    tmp = tempfile.TemporaryDirectory(prefix="grace-gui-bench-")
    settings = open_settings(str(Path(tmp.name) / "settings.ini"))
    gpus = [device] if device != "cpu" else []
    context = AppContext(settings, NotificationBar(), long_job_pool(), None, gpus=gpus)
    tab = InferenceTab(context)
    tab.resize(1280, 820)
    tab.show()
    meter = StallMeter()
    stalls: list[float] = []
    summaries: list = []

    def gui_run() -> None:
        loop = QEventLoop()
        tab.run_finished.connect(loop.quit)
        meter.start()
        if not tab.run(weights, folder):
            raise GraceError(context.notifications.current.message)
        loop.exec()
        stalls.append(meter.stop())
        tab.run_finished.disconnect(loop.quit)
        if tab.summary is None:
            raise GraceError(context.notifications.current.message)
        summaries.append(tab.summary)

    gui_run()  # loads the model (timed for the stall only)
    stall_cold = stalls.pop()
    predictor = Predictor(weights, device=device)
    predictor.warmup()
    req = PredictRequest(weights, folder, conf=FLOOR, device=device, progress_every=0)

    def engine_run() -> None:
        summaries.append(run_predict(req, predictor, log=None))

    r = paired_ratio(gui_run, engine_run, rounds, warmup=1)
    t_gui, t_engine = r.median_a, r.median_b
    tab.shutdown()
    tab.close()
    images = summaries[-1].images
    stall = max(stalls)
    return {
        "folder": str(folder),
        "weights": str(weights),
        "device": device,
        "images": images,
        "rounds": rounds,
        "gui_s": round(t_gui, 4),
        "engine_s": round(t_engine, 4),
        "gui_ips": round(images / t_gui, 2),
        "engine_ips": round(images / t_engine, 2),
        **r.figures("ratio", digits=4),
        "stall_ms": round(stall, 1),
        "stall_cold_ms": round(stall_cold, 1),
        "ratio_ok": r.ratio >= TARGET_RATIO,
        "stall_ok": stall < TARGET_STALL_MS,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    from PySide6.QtWidgets import QApplication

    from grace.errors import GraceError

    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 (kept alive)
    result: dict = {}
    try:
        if args.weights:
            result = bench(args.weights, args.folder, args.rounds, args.device)
        if args.stall_parts:
            from grace_gui.bench_stall import stall_figures

            result.update(stall_figures(args.stall_parts))
    except GraceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ok = all(v for k, v in result.items() if k.endswith("_ok"))
    if args.json:
        print(json.dumps(result))
    elif not args.weights:
        for key, value in result.items():
            print(f"{key}: {value}")
    else:
        print(f"{result['images']} images, {args.rounds} rounds, device {result['device']}")
        r = result
        print(f"  Inference tab : {r['gui_s']:.3f} s  ({r['gui_ips']:.1f} images/s)")
        print(f"  run_predict   : {r['engine_s']:.3f} s  ({r['engine_ips']:.1f} images/s)")
        print(f"  ratio (tab / engine throughput): {r['ratio']:.3f}  "
              f"(quartiles {r['ratio_q1']:.3f}-{r['ratio_q3']:.3f} of {r['ratio_n']} rounds; "
              f"target >= {TARGET_RATIO})")  # fmt: skip
        print(f"  GUI thread longest stall: {result['stall_ms']:.1f} ms warm, "
              f"{result['stall_cold_ms']:.1f} ms with the model loading "
              f"(target < {TARGET_STALL_MS:.0f})")  # fmt: skip
        for key, value in result.items():  # the --stall figures
            if key.startswith(("thumbnails_", "train_")):
                print(f"  {key}: {value}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
