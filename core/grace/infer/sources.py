"""Where frames come from: an image, a folder, a glob, a video file, a camera or a stream URL.

:func:`resolve_source` classifies and checks the argument without opening anything slow (a
missing path or an empty glob is a :class:`GraceError` before the model loads);
:func:`open_source` then returns a :class:`~grace.infer.files.FileSource` (decoded in order, in
batches) or a started :class:`~grace.infer.live.LiveSource` (newest frame only).
"""

from __future__ import annotations

import glob as globmod
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from grace.errors import GraceError
from grace.infer.files import FileSource
from grace.infer.frames import IMAGE_SUFFIXES, VIDEO_SUFFIXES, Skipped
from grace.infer.live import CvGrabber, LiveSource, Log, ReconnectPolicy
from grace.infer.mjpeg import MjpegGrabber, NotMjpeg

STREAM_SCHEMES = ("http://", "https://", "rtsp://", "rtsps://", "rtmp://", "tcp://", "udp://")
KINDS = ("image", "folder", "glob", "video", "camera", "stream")


@dataclass
class SourceSpec:
    """A classified source argument. ``paths`` are the candidate files of file kinds (in
    order); ``skipped`` what a folder or glob holds that is not processed: files that are not
    images or videos, sub-folders (a folder is not searched recursively) and broken links."""

    text: str
    kind: str
    paths: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    camera: int | None = None
    url: str | None = None

    @property
    def live(self) -> bool:
        return self.kind in ("camera", "stream")


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(p))]


def _split_files(files: list[Path]) -> tuple[list[Path], list[Skipped]]:
    keep, skipped = [], []
    for f in sorted(files, key=_natural_key):
        if f.name.startswith("."):
            continue
        if f.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
            keep.append(f)
        else:
            why = f"not an image or video file ({f.suffix or 'no suffix'})"
            skipped.append(Skipped(str(f), why))
    return keep, skipped


def _not_files(entries: list[Path], folders: bool = True) -> list[Skipped]:
    """What a folder or glob holds besides files: sub-folders (not searched; with ``folders``)
    and broken symbolic links, each with its reason (hidden entries are ignored, like hidden
    files)."""
    skipped = []
    for p in entries:
        if p.name.startswith(".") or p.is_file():
            continue
        if p.is_dir():
            if folders:
                why = f"sub-folder, not searched (include it with a glob: '{p.parent}/**/*')"
                skipped.append(Skipped(str(p), why))
        elif p.is_symlink():
            try:
                target = os.readlink(p)
            except OSError:
                target = "?"
            skipped.append(
                Skipped(str(p), f"broken symbolic link (its target {target} is missing)")
            )
        else:
            skipped.append(Skipped(str(p), "not a regular file"))
    return skipped


def _by_name(skipped: list[Skipped]) -> list[Skipped]:
    return sorted(skipped, key=lambda s: _natural_key(Path(s.file)))


def redact(url: str) -> str:
    """A URL without its password, for logs and outputs."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)


def resolve_source(source: str | int | Path) -> SourceSpec:
    """Classify ``source`` and check it exists (files) or looks valid (camera, URL)."""
    text = str(source).strip()
    if not text:
        raise GraceError("no source given: pass an image, folder, glob, video, camera or URL")
    if text.lower().startswith(STREAM_SCHEMES):
        return SourceSpec(text, "stream", url=text)
    path = Path(text).expanduser()
    if text.isdigit() and not path.exists():
        return SourceSpec(text, "camera", camera=int(text))
    if path.is_dir():
        entries = list(path.iterdir())
        keep, skipped = _split_files([p for p in entries if p.is_file()])
        others = _not_files(entries)
        if not keep:
            folders = sum(p.is_dir() for p in entries if not p.name.startswith("."))
            hint = f" ({folders} sub-folder(s) not searched: use '{text}/**/*')" if folders else ""
            raise GraceError(f"{text}: no image or video files in this folder{hint}")
        return SourceSpec(text, "folder", keep, _by_name(skipped + others))
    if path.is_file():
        kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image"
        return SourceSpec(text, kind, [path])
    if any(ch in text for ch in "*?["):
        matches = [Path(p) for p in globmod.glob(str(path), recursive=True)]
        keep, skipped = _split_files([p for p in matches if p.is_file()])
        # a '**' pattern descends through the folders it matches: only a plain one leaves them
        others = _not_files(matches, folders="**" not in text)
        if not keep:
            raise GraceError(f"{text}: no image or video files match this pattern")
        return SourceSpec(text, "glob", keep, _by_name(skipped + others))
    if "://" in text:
        raise GraceError(f"{text}: unsupported URL scheme (use {', '.join(STREAM_SCHEMES)})")
    raise GraceError(f"{text}: no such file or directory")


class _HttpGrabber(MjpegGrabber):
    """MJPEG over our own reader; anything else the server sends goes to OpenCV's FFmpeg."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url, timeout)
        self.name = redact(url)
        self._cv: CvGrabber | None = None

    def open(self) -> None:
        if self._cv is None:
            try:
                return super().open()
            except NotMjpeg:
                self._cv = CvGrabber(self.url, self.name, timeout=self.timeout)
        self._cv.open()
        self.fps = self._cv.fps

    def read(self):
        return self._cv.read() if self._cv is not None else super().read()

    def close(self) -> None:
        if self._cv is not None:
            self._cv.close()
        super().close()


def open_source(
    spec: SourceSpec,
    live_video: bool = False,
    policy: ReconnectPolicy | None = None,
    timeout: float = 5.0,
    log: Log | None = None,
) -> FileSource | LiveSource:
    """Open ``spec``: a :class:`FileSource`, or a connected and started live source.

    ``live_video`` plays a single video file as a live source (its own frame rate, frames
    dropped while the model is busy) instead of decoding every frame.
    """
    policy = policy or ReconnectPolicy()
    if spec.kind == "camera":
        grabber = CvGrabber(int(spec.camera or 0), f"camera {spec.camera}", timeout=timeout)
        policy = ReconnectPolicy(**{**policy.__dict__, "connect_attempts": 1})
        return LiveSource(grabber, "camera", policy, log).start()
    if spec.kind == "stream":
        url = str(spec.url)
        if url.lower().startswith(("http://", "https://")):
            grabber = _HttpGrabber(url, timeout)
        else:
            grabber = CvGrabber(url, redact(url), timeout=timeout)
        return LiveSource(grabber, "stream", policy, log).start()
    if live_video and spec.kind == "video":
        path = str(spec.paths[0])
        grabber = CvGrabber(path, path, finite=True, pace=True, timeout=timeout)
        policy = ReconnectPolicy(**{**policy.__dict__, "connect_attempts": 1})
        return LiveSource(grabber, "video", policy, log).start()
    return FileSource(spec)
