"""What Help > About says: the version of GRACE Inspector, the device and the libraries (Qt-free).

Versions come from the installed distributions' metadata (``importlib.metadata``), found through
the module each one provides, so that ``PySide6`` is found whether ``PySide6`` or
``PySide6-Essentials`` is installed and OpenCV whichever of its wheels provides ``cv2``.
"""

from __future__ import annotations

import platform
from importlib import metadata

APP_DISTRIBUTION = "grace-inspector"
LIBRARIES: tuple[tuple[str, str], ...] = (  # (name shown, module it provides)
    ("torch", "torch"),
    ("torchvision", "torchvision"),
    ("Ultralytics", "ultralytics"),
    ("PySide6", "PySide6"),
    ("OpenCV", "cv2"),
    ("pytorch-grad-cam", "pytorch_grad_cam"),
    ("superqt", "superqt"),
)
NOT_INSTALLED = "not installed"


def distribution_version(module: str, providers: dict[str, list[str]] | None = None) -> str:
    """The version of the distribution that provides ``module``, followed by that
    distribution's name in brackets when it is not the module's (``"5.0.0.93 (opencv-python)"``),
    or :data:`NOT_INSTALLED`."""
    providers = metadata.packages_distributions() if providers is None else providers
    for dist in providers.get(module, []):
        try:
            meta = metadata.distribution(dist).metadata
        except metadata.PackageNotFoundError:
            continue
        name, version = meta["Name"], meta["Version"]
        return version if name.lower() == module.lower() else f"{version} ({name})"
    return NOT_INSTALLED


def app_version() -> str:
    try:
        return metadata.version(APP_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def about_facts(gpus: list[str]) -> list[tuple[str, str]]:
    """``[(what, value), ...]``: GRACE Inspector's version, the device, Python, the libraries.

    Parameters
    ----------
    gpus
        ``"0: NVIDIA …"`` per CUDA GPU (:func:`grace_gui.device.cuda_devices`), empty on a CPU.
    """
    providers = metadata.packages_distributions()
    facts = [("Version", app_version())]
    if not gpus:
        facts.append(("Device", "CPU (no CUDA GPU found)"))
    for gpu in gpus:
        index, _, name = gpu.partition(":")
        facts.append((f"GPU {index.strip()}", name.strip() or gpu))
    facts.append(("Python", platform.python_version()))
    facts += [(name, distribution_version(module, providers)) for name, module in LIBRARIES]
    return facts
