"""Image files: which suffixes count as images, content hashes, Git LFS pointers, and a cheap
decode probe (size, EXIF orientation, grayscale content)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".bmp", ".dng", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp", ".pfm"}
GRAY_TOLERANCE = 2  # grey levels by which R, G and B may differ in a "grayscale" JPEG
EXIF_ORIENTATION = 0x0112
# https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md: a pointer is a small text file that
# starts with its version line ("hawser" in the first pre-release spec)
_LFS_PREFIXES = (
    b"version https://git-lfs.github.com/spec/",
    b"version https://hawser.github.com/spec/",
)
LFS_POINTER_MAX_BYTES = 1024
LFS_POINTER_DETAIL = "Git LFS pointer, not an image (run `git lfs pull` in the source repository)"


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def sha256_file(path: str | Path) -> str:
    """SHA-256 of the file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_lfs_pointer(data: bytes | str | Path) -> bool:
    """True when ``data`` (a file's bytes, or its path) is a Git LFS pointer file: the repository
    was cloned without ``git lfs pull``, so the real content is not there."""
    if not isinstance(data, bytes):
        try:
            path = Path(data)
            if path.stat().st_size > LFS_POINTER_MAX_BYTES:
                return False
            data = path.read_bytes()
        except OSError:
            return False
    return len(data) <= LFS_POINTER_MAX_BYTES and data.lstrip().startswith(_LFS_PREFIXES)


@dataclass(frozen=True)
class ImageProbe:
    """What decoding an image told us: its stored size (:attr:`shown_size` is the size the
    trainer and the views see), mode, EXIF orientation (1 when none),
    whether its three channels are equal (grayscale content stored as RGB), or why it could not
    be read (``lfs_pointer`` when the file is a Git LFS pointer)."""

    width: int = 0
    height: int = 0
    mode: str = ""
    grayscale_as_rgb: bool = False
    error: str | None = None
    orientation: int = 1
    lfs_pointer: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def shown_size(self) -> tuple[int, int]:
        """``(width, height)`` as the trainer, ``grace predict`` and every view see the image
        (:func:`grace.images.read_image`, OpenCV, Ultralytics' ``exif_size``): the stored size,
        turned by the EXIF orientation (5-8 swap width and height)."""
        from grace.data.orientation import shown_size

        return shown_size(self.width, self.height, self.orientation)


def channels_equal(rgb: np.ndarray, tolerance: int = GRAY_TOLERANCE) -> bool:
    """True when an ``H x W x 3`` array has R, G and B within ``tolerance`` at every pixel."""
    a = rgb.astype(np.int16)
    return bool(
        np.abs(a[..., 0] - a[..., 1]).max() <= tolerance
        and np.abs(a[..., 1] - a[..., 2]).max() <= tolerance
    )


def open_image(path: str | Path):
    """``PIL.Image.open`` itself, also once Ultralytics is imported.

    Ultralytics replaces ``PIL.Image.open`` with a wrapper that, for a file PIL cannot identify,
    tries to install ``pi-heif``: offline that prints a requirements warning and raises "No
    module named 'pi_heif'" instead of the file's real problem. A corrupt image must be reported
    as what it is, and quickly (a folder may hold many).
    """
    from PIL import Image

    opener = Image.open
    if getattr(opener, "__module__", "").startswith("ultralytics"):
        from ultralytics.utils import patches

        opener = getattr(patches, "_image_open", opener)
    return opener(path)


def probe_image(path: str | Path) -> ImageProbe:
    """Decode ``path`` fully (JPEGs at 1/4 scale through the DCT, which is much faster and still
    reads the whole stream); never raises for a bad file, reports it in ``error`` instead."""
    if is_lfs_pointer(path):
        return ImageProbe(error=LFS_POINTER_DETAIL, lfs_pointer=True)
    try:
        with open_image(path) as im:
            w, h = im.size
            mode = im.mode
            orientation = _orientation(im)
            if im.format == "JPEG" and mode == "RGB":
                im.draft("RGB", (max(1, w // 4), max(1, h // 4)))
            im.load()
            gray = mode == "RGB" and channels_equal(np.asarray(im))
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, DecompressionBomb...
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return ImageProbe(error=msg)
    return ImageProbe(w, h, mode, gray, orientation=orientation)


def _orientation(im) -> int:
    """The EXIF orientation (1..8) of an open image; 1 when it has none or an invalid one."""
    try:
        value = int(im.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block is no orientation
        return 1
    return value if 1 <= value <= 8 else 1
