"""Training checkpoints: written atomically, carrying what a resume needs, checked before use.

* Ultralytics writes ``last.pt``, ``best.pt`` and ``epochN.pt`` with ``Path.write_bytes``
  (in place: a full disk leaves a truncated file where the good one was). The trainer's weight
  paths are :class:`AtomicWritePath` objects, whose ``write_bytes`` goes through
  :mod:`grace.fileio`; :func:`atomic_strip_optimizer` does the same for the final stripping.
* Every checkpoint the trainer saves carries :data:`RESUME_ATTR` on its EMA model: the DS-CBSM++
  state at that moment and whether the epoch being trained was complete. Being inside the file,
  it cannot disagree with the weights. A checkpoint saved in the middle of an epoch (``STOP``
  file, Ctrl-C, crash) resumes at the start of that epoch, which then runs again in full.
* :func:`check_resume_checkpoint` and :func:`check_weights_checkpoint` open a checkpoint before
  any run folder is created and say in one line what is wrong with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grace.errors import GraceError
from grace.fileio import atomic_path, atomic_write_bytes, atomic_write_text

RESUME_ATTR = "grace_resume"  # attribute of the checkpoint's EMA model
LEGACY_SAMPLER_STATE_FILE = "sampler_state.json"  # runs written before the state moved inside


class AtomicWritePath(type(Path())):
    """A path whose ``write_bytes`` / ``write_text`` replace the file atomically.

    Paths derived from it (``wdir / "epoch3.pt"``) are of the same class.
    """

    def write_bytes(self, data: bytes) -> int:  # type: ignore[override]
        atomic_write_bytes(self, data)
        return len(data)

    def write_text(self, data: str, encoding: str | None = None, errors: str | None = None,
                   newline: str | None = None) -> int:  # type: ignore[override]  # fmt: skip
        atomic_write_text(self, data)
        return len(data)


def resume_record(epoch: int, epoch_complete: bool, sampler: dict | None) -> dict[str, Any]:
    """What a checkpoint carries for a resume (plain Python, picklable)."""
    return {"version": 1, "epoch": int(epoch), "epoch_complete": bool(epoch_complete),
            "sampler": sampler}  # fmt: skip


def resume_state(ckpt: dict | None) -> dict[str, Any] | None:
    """The :func:`resume_record` inside a loaded checkpoint, or None (older checkpoints)."""
    ema = (ckpt or {}).get("ema")
    state = getattr(ema, RESUME_ATTR, None)
    return state if isinstance(state, dict) else None


def start_epoch(ckpt: dict) -> int:
    """The epoch a resume from ``ckpt`` starts at: the interrupted one, else the next one."""
    state = resume_state(ckpt)
    if state is not None and not state["epoch_complete"]:
        return int(state["epoch"])
    return int(ckpt.get("epoch", -1)) + 1


def load_checkpoint_dict(path: str | Path) -> dict:
    """Unpickle a checkpoint file, with one line naming it if it is not a whole checkpoint."""
    import torch
    from ultralytics.utils.patches import torch_load

    import grace.nn  # noqa: F401  (the Lite-FEN classes inside GRACE checkpoints)

    path = Path(path)
    if path.is_dir():
        raise GraceError(f"{path}: is a folder, not a checkpoint file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise GraceError(f"{path}: cannot read ({e.strerror or e})") from None
    if not head:
        raise GraceError(f"{path}: empty file, not a checkpoint")
    try:
        ckpt = torch_load(path, map_location="cpu")
    except Exception as e:
        if head.startswith(b"PK"):  # torch.save's zip container, cut short or damaged
            reason = str(e).strip().splitlines()[0].split(". ")[0] if str(e).strip() else ""
            reason = reason.rstrip(".") or type(e).__name__  # torch adds paragraphs of advice
            raise GraceError(f"{path}: truncated or damaged checkpoint ({reason})") from None
        raise GraceError(f"{path}: not a PyTorch checkpoint") from None
    model = ckpt.get("ema") or ckpt.get("model") if isinstance(ckpt, dict) else None
    if not isinstance(model, torch.nn.Module):
        raise GraceError(f"{path}: not an Ultralytics checkpoint (no model inside)")
    return ckpt


def check_weights_checkpoint(path: str | Path) -> Path:
    """``--weights``: an existing checkpoint file with a model inside."""
    path = Path(path)
    if not path.exists():
        raise GraceError(f"{path}: weights file not found")
    load_checkpoint_dict(path)
    return path


def check_resume_checkpoint(path: str | Path) -> Path:
    """``--resume``: a checkpoint that a training run saved and that has epochs left to train."""
    path = Path(path)
    ckpt = load_checkpoint_dict(path)
    if ckpt.get("optimizer") is None:
        raise GraceError(
            f"{path}: checkpoint of a finished run (no optimizer state), nothing to resume;"
            " start a new run with --weights"
        )
    epochs = int((ckpt.get("train_args") or {}).get("epochs") or 0)
    if start_epoch(ckpt) >= epochs:
        raise GraceError(f"{path}: all {epochs} epochs are done, nothing to resume")
    if resume_state(ckpt) is None:  # an older run: its sampler state is a file beside it
        read_legacy_sampler_state(path.parent)
    return path


def read_legacy_sampler_state(weights_dir: Path) -> tuple[dict | None, Path]:
    """``sampler_state.json`` of a run saved before the state moved into ``last.pt``."""
    path = Path(weights_dir) / LEGACY_SAMPLER_STATE_FILE
    if not path.exists():
        return None, path
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GraceError(f"{path}: unreadable sampler state ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict):
        raise GraceError(f"{path}: unreadable sampler state (not a JSON object)")
    return state, path


def atomic_strip_optimizer(f: str | Path, s: str = "", updates: dict | None = None) -> dict:
    """Ultralytics' ``strip_optimizer``, writing its result atomically (same signature)."""
    from ultralytics.utils.torch_utils import strip_optimizer

    class _NotACheckpoint(Exception):
        pass

    try:
        with atomic_path(s or f) as tmp:
            result = strip_optimizer(f, str(tmp), updates)
            if not result:  # Ultralytics skips files that are not checkpoints
                raise _NotACheckpoint
    except _NotACheckpoint:
        return {}
    return result
