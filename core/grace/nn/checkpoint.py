"""Opening checkpoints with one clear line when a file is not one."""

from __future__ import annotations

from pathlib import Path

from grace.errors import GraceError, cause_line


def check_checkpoint_path(weights: str | Path) -> Path:
    """The path of an existing ``.pt`` file, or :class:`GraceError` naming it (no torch import)."""
    path = Path(weights)
    from grace.deploy.runtime import NEEDS_PT, model_kind

    kind = model_kind(path)
    if kind in ("openvino", "onnx"):
        raise GraceError(f"{weights}: an exported {kind} model; this {NEEDS_PT}")
    if kind == "package":
        raise GraceError(f"{weights}: a model package; this {NEEDS_PT} (pass its model.pt)")
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / "weights" / name).is_file():
                hint = path / "weights" / name
                raise GraceError(f"{weights}: a run folder, not a checkpoint; pass {hint}")
        raise GraceError(f"{weights}: a folder, not a checkpoint (expected a PyTorch .pt file)")
    if not path.is_file():
        raise GraceError(f"{weights}: weights file not found")
    if path.suffix.lower() != ".pt":
        raise GraceError(f"{weights}: not a checkpoint (expected a PyTorch .pt file)")
    return path


def load_yolo(weights: str | Path):
    """``ultralytics.YOLO`` on a checkpoint file, with one clear line if it is not one."""
    check_checkpoint_path(weights)
    from ultralytics import YOLO

    import grace.nn  # noqa: F401  (the checkpoint's Lite-FEN classes)

    try:
        return YOLO(str(weights))
    except Exception as e:
        raise GraceError(f"{weights}: not a loadable checkpoint ({cause_line(e)})") from None
