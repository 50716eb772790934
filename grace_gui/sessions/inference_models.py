"""The models a user can choose in the Inference tab, named so that three ``best.pt`` of three
runs are told apart: the run's name and the file, with the folder beside them (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def run_name(path: str | Path) -> str:
    """The training run a checkpoint belongs to: ``N`` for ``…/N/weights/best.pt``, else ``""``.

    >>> run_name("runs/grace/exp3/weights/best.pt")
    'exp3'
    >>> run_name("models/demo.pt")
    ''
    """
    p = Path(path)
    return p.parent.parent.name if p.parent.name == "weights" and p.parent.parent.name else ""


def short_dir(path: str | Path, home: str | Path | None = None) -> str:
    """The checkpoint's folder, with the home folder written ``~``.

    >>> short_dir("/home/ann/runs/a/weights/best.pt", home="/home/ann")
    '~/runs/a/weights'
    """
    folder = Path(path).parent
    home = Path(home) if home is not None else Path.home()
    try:
        return str(Path("~") / folder.relative_to(home))
    except ValueError:
        return str(folder)


@dataclass(frozen=True)
class ModelEntry:
    """A checkpoint offered for inference: its path and what the chooser shows."""

    path: str
    run: str  # the training run's name, or "" for a loose checkpoint

    @property
    def name(self) -> str:
        """``exp3 · best.pt`` (run and file) or ``demo.pt``."""
        file = Path(self.path).name
        return f"{self.run} · {file}" if self.run else file

    def label(self, home: str | Path | None = None) -> str:
        """What the chooser shows: the name, then the folder it lives in."""
        return f"{self.name}   ({short_dir(self.path, home)})"


def model_entry(path: str | Path) -> ModelEntry:
    return ModelEntry(str(path), run_name(path))
