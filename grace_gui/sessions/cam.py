"""The Eigen-CAM tab's state and jobs, free of Qt: :class:`CamSession`.

It holds what is open (an image, up to four checkpoints, the recently used ones), the choices
(method, layer, thresholds, opacity, colormap, detections on/off), what runs (one job at a time;
the latest choice wins) and the result (the maps on one global scale). It draws the figure at
any panel height (the view's size on screen, the image's own size for export) and announces
every change with psygnal signals. Jobs run through ``submit`` (a callable that runs a callable
elsewhere: the GUI's thread pool; by default a new thread), and the signals of a job are emitted
from that thread: a view delivers them on its own thread (``grace_gui.gui_thread.on_gui_thread``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from psygnal import Signal

from grace.errors import GraceError
from grace.explain.options import (
    COLORMAP_NAMES,
    DEFAULT_COLORMAP,
    DEFAULT_CONF,
    DEFAULT_METHOD,
    DEFAULT_OPACITY,
    METHOD_LABELS,
)
from grace_gui.sessions.cam_job import (
    MAX_CHECKPOINTS,
    CamRequest,
    CamResult,
    ModelCache,
    Stopped,
    cam_checkpoint,
    refusal,
    run_job,
    same_file,
)

__all__ = ["RECENT_LIMIT", "CamSession"]

RECENT_LIMIT = 10


def _thread(job: Callable[[], None]) -> None:
    threading.Thread(target=job, name="eigen-cam", daemon=True).start()


class CamSession:
    """One image, up to :data:`MAX_CHECKPOINTS` checkpoints, their CAMs on one scale."""

    inputs_changed = Signal()  # image, checkpoints, method, layer or thresholds: compute again
    checkpoints_changed = Signal(list)  # the panels' checkpoints, in order
    recent_changed = Signal(list)  # the recently used checkpoints, newest first
    display_changed = Signal()  # opacity, colormap or detections on/off: draw again
    started = Signal(object)  # CamRequest
    computed = Signal(object)  # CamResult
    failed = Signal(str)  # one line naming the file; the old result is gone
    cleared = Signal(str)  # nothing to show, and why
    refused = Signal(str)  # one line: a checkpoint not added or left out

    def __init__(
        self,
        submit: Callable[[Callable[[], None]], object] | None = None,
        device: str = "cpu",
    ) -> None:
        self.submit = submit or _thread
        self.device = device
        self.cache = ModelCache()
        self.image_path: str | None = None
        self.frame: tuple[np.ndarray, str] | None = None  # an image given as an array
        self.checkpoints: list[str] = []
        self.recent: list[str] = []
        self.method = DEFAULT_METHOD
        self.layer: int | None = None
        self.conf = DEFAULT_CONF
        self.class_conf: dict[str, float] = {}
        self.opacity = DEFAULT_OPACITY
        self.colormap = DEFAULT_COLORMAP
        self.show_detections = True
        self.result: CamResult | None = None
        self.error = ""  # the last job's one-line failure
        self._lock = threading.Lock()
        self._running = False
        self._pending = False
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()

    # the image -------------------------------------------------------------------------------
    def set_image_path(self, path: str) -> None:
        self.image_path, self.frame = str(path), None
        self.inputs_changed.emit()

    def set_image_array(self, bgr: np.ndarray, name: str) -> None:
        self.image_path, self.frame = None, (np.array(bgr, copy=True), str(name))
        self.inputs_changed.emit()

    @property
    def image_name(self) -> str:
        if self.frame is not None:
            return self.frame[1]
        return Path(self.image_path).name if self.image_path else ""

    # checkpoints -----------------------------------------------------------------------------
    def add_checkpoint(self, path: str) -> str:
        """Append ``path`` as the next panel (a package folder: its ``model.pt``,
        :func:`~grace_gui.sessions.cam_job.cam_checkpoint`); ``""`` when added, else why not (an
        exported model among others; also emitted as :attr:`refused`)."""
        pt, reason = cam_checkpoint(str(path))
        reason = reason or refusal(self.checkpoints, pt, MAX_CHECKPOINTS)
        if reason:
            self.refused.emit(reason)
            return reason
        self.checkpoints.append(pt)
        self._checkpoints_changed()
        return ""

    def set_checkpoints(self, paths: list[str]) -> None:
        """Replace the panels (paths that are gone, exported, repeated or over the limit are
        skipped)."""
        self.checkpoints = []
        for p in paths:
            pt, reason = cam_checkpoint(str(p))
            if not reason and not refusal(self.checkpoints, pt):
                self.checkpoints.append(pt)
        self._checkpoints_changed()

    def remove_checkpoint(self, path: str) -> None:
        if path in self.checkpoints:
            self.checkpoints.remove(path)
            self._checkpoints_changed()

    def _checkpoints_changed(self) -> None:
        self.checkpoints_changed.emit(list(self.checkpoints))
        self.inputs_changed.emit()

    def remember(self, path: str) -> str:
        """Put ``path`` first under *Recent*: each file once, however it was spelled (a package
        folder: its ``model.pt``). An exported model is not listed: ``""`` when listed, else
        why not."""
        pt, reason = cam_checkpoint(str(path))
        if not reason:
            self.set_recent([os.path.normpath(os.path.abspath(pt)), *self.recent])
        return reason

    def set_recent(self, paths: list[str]) -> None:
        """The recent list (existing files Eigen-CAM can read only, each once, at most
        :data:`RECENT_LIMIT`)."""
        out: list[str] = []
        for p in paths:
            if (Path(p).is_file() and not cam_checkpoint(str(p))[1]
                    and not any(same_file(p, q) for q in out)):  # fmt: skip
                out.append(str(p))
        if out[:RECENT_LIMIT] != self.recent:
            self.recent = out[:RECENT_LIMIT]
            self.recent_changed.emit(list(self.recent))

    # choices ---------------------------------------------------------------------------------
    def set_method(self, method: str) -> None:
        if method not in METHOD_LABELS:
            raise GraceError(f"{method}: not a CAM method ({', '.join(METHOD_LABELS)})")
        if method != self.method:
            self.method = method
            self.inputs_changed.emit()

    def set_layer(self, index: int | None) -> None:
        """Explain ``model.model[index]`` (``None``: the P3 input of the head)."""
        if index != self.layer:
            self.layer = index
            self.inputs_changed.emit()

    def set_thresholds(self, conf: float, per_class: Mapping[str, float] | None = None) -> None:
        """The Inference tab's thresholds: ``conf`` for every class, ``per_class`` by name."""
        per_class = {str(k): float(v) for k, v in (per_class or {}).items()}
        if (float(conf), per_class) != (self.conf, self.class_conf):
            self.conf, self.class_conf = float(conf), per_class
            self.inputs_changed.emit()

    def set_display(
        self,
        opacity: float | None = None,
        colormap: str | None = None,
        detections: bool | None = None,
    ) -> None:
        """Change how the maps are drawn (no model runs)."""
        if colormap is not None and colormap not in COLORMAP_NAMES:
            raise GraceError(f"{colormap}: not a colormap ({', '.join(COLORMAP_NAMES)})")
        if opacity is not None and not 0.0 <= float(opacity) <= 1.0:
            raise GraceError(f"opacity {opacity}: must be between 0 and 1")
        new = (
            self.opacity if opacity is None else float(opacity),
            self.colormap if colormap is None else colormap,
            self.show_detections if detections is None else bool(detections),
        )
        if new != (self.opacity, self.colormap, self.show_detections):
            self.opacity, self.colormap, self.show_detections = new
            self.display_changed.emit()

    # computing -------------------------------------------------------------------------------
    def request(self) -> CamRequest | None:
        """What the choices ask for, or ``None`` while an image or a checkpoint is missing."""
        if not self.checkpoints or (self.image_path is None and self.frame is None):
            return None
        frame, name = self.frame if self.frame is not None else (None, "")
        return CamRequest(
            weights=tuple(self.checkpoints),
            image_path=self.image_path,
            image=frame,
            image_name=name,
            layer=self.layer,
            device=self.device,
            conf=self.conf,
            class_conf=dict(self.class_conf),
            method=self.method,
        )

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def compute(self) -> None:
        """Compute the current choice in the background (one job at a time: a choice made while
        one runs is computed when it ends)."""
        req = self.request()
        if req is None:
            self.result = None
            self.cleared.emit("Choose an image and at least one checkpoint")
            return
        with self._lock:
            if self._running:
                self._pending = True
                return
            self._running = True
            self._idle.clear()
        self._start(req)

    def _start(self, req: CamRequest) -> None:
        self.started.emit(req)
        self.submit(lambda: self._run(req))

    def _run(self, req: CamRequest) -> None:
        result, error = None, ""
        try:
            result = run_job(req, self.cache, self._stop)
        except Stopped:
            pass
        except GraceError as e:
            error = str(e)
        except Exception as e:  # noqa: BLE001 - one line for the user, whatever failed
            error = f"{req.image_path or req.name}: {type(e).__name__}: {e}".splitlines()[0]
        if result is not None:
            self._accept(result)
        elif error:
            self.result, self.error = None, error
            self.failed.emit(error)
        with self._lock:
            again = self._pending and not self._stop.is_set()
            self._pending = False
            self._running = again
            nxt = self.request() if again else None
            if nxt is None:
                self._running = False
                self._idle.set()
        if nxt is not None:
            self._start(nxt)

    def _accept(self, result: CamResult) -> None:
        if result.failed:
            self.checkpoints = [p for p in self.checkpoints if p not in dict(result.failed)]
            self.checkpoints_changed.emit(list(self.checkpoints))
            for _, message in result.failed:
                self.refused.emit(message)
        self.result, self.error = result, ""
        for path in reversed(result.weights):
            self.remember(path)
        self.computed.emit(result)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job runs (``False`` on timeout)."""
        return self._idle.wait(timeout)

    def shutdown(self) -> None:
        """Stop after the current step; no job starts any more."""
        self._stop.set()
        with self._lock:
            self._pending = False

    # drawing ---------------------------------------------------------------------------------
    def figure_shape(self, panel_height: int | None = None) -> tuple[int, int]:
        """``(height, width)`` of :meth:`render` at ``panel_height`` (image's own by default)."""
        from grace.explain.figure import figure_shape

        r = self._shown()
        return figure_shape(r.image.shape[:2], len(r.maps01), self._height(panel_height),
                            r.value_range, r.request.method)  # fmt: skip

    def fit(self, box_hw: tuple[int, int]) -> int:
        """The panel height whose figure fills ``box_hw`` pixels."""
        from grace.explain.figure import fit_panel_height

        r = self._shown()
        return fit_panel_height(r.image.shape[:2], len(r.maps01), box_hw, r.value_range,
                                r.request.method)  # fmt: skip

    def native_panel_height(self) -> int:
        """The panel height of the full-resolution figure: the image's own height."""
        return self._height(None)

    def render(self, panel_height: int | None = None) -> np.ndarray:
        """The figure ``grace cam`` writes, from the cached maps (no model runs), with panels
        ``panel_height`` pixels high (default: the image's own height, full resolution)."""
        from grace.explain.figure import render_figure

        r = self._shown()
        return render_figure(
            r.image,
            r.maps01,
            r.titles,
            input_title=r.request.name,
            detections=r.detections if self.show_detections else None,
            colormap=self.colormap,
            opacity=self.opacity,
            panel_height=self._height(panel_height),
            value_range=r.value_range,
            method=r.request.method,
        )

    def export(self, path: str) -> str:
        """Write the figure at full resolution (each panel the image's own size) as PNG at
        ``path`` (``.png`` added when missing), atomically; returns the path written."""
        from grace.explain.figure import write_figure

        if Path(path).suffix.lower() != ".png":
            path = f"{path}.png"
        figure = self.render()
        try:
            return str(write_figure(figure, path))
        except OSError as e:  # the folder cannot be made (fileio reports failed writes itself)
            raise GraceError(f"{path}: cannot write ({e.strerror or type(e).__name__})") from None

    def _shown(self) -> CamResult:
        if self.result is None:
            raise GraceError("nothing computed yet: choose an image and a checkpoint")
        return self.result

    def _height(self, panel_height: int | None) -> int:
        return int(panel_height) if panel_height else int(self._shown().image.shape[0])
