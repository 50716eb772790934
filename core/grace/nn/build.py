"""Build a YOLO11 detection model (optionally with Lite-FEN) and transfer weights into it.

Nothing here downloads: scale names resolve to the YAML shipped inside the ``ultralytics``
package, and a ``weights`` file must exist locally (checked before Ultralytics sees the path,
because Ultralytics would otherwise try to download a missing ``*.pt`` by name).
"""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from grace.config import MODEL_SCALES, FenConfig
from grace.nn.fen import attach_fen

__all__ = ["VALID_MODELS", "build_model", "count_parameters", "transfer_report"]

VALID_MODELS = tuple(f"yolo11{s}" for s in MODEL_SCALES)


def _resolve_cfg(model: str | Path) -> str:
    """Return a YAML name/path Ultralytics can build from, or raise ValueError."""
    text = str(model).strip()
    stem = text[:-5] if text.lower().endswith(".yaml") else text
    if stem.lower() in VALID_MODELS and not Path(text).exists():
        return f"{stem.lower()}.yaml"  # packaged YAML, the scale is read from the name
    if text.lower().endswith((".yaml", ".yml")) and Path(text).is_file():
        return str(Path(text))
    raise ValueError(
        f"unknown model {text!r}: use one of {', '.join(VALID_MODELS)} "
        "or a path to an existing .yaml"
    )


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Count the parameters of a model.

    Parameters
    ----------
    model : nn.Module
        Any module.
    trainable_only : bool
        Count only parameters with ``requires_grad``.

    Returns
    -------
    int
        Number of scalar parameters (buffers such as Lite-FEN's ``s_hat`` are not counted).
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def transfer_report(model: nn.Module, weights_model: nn.Module) -> dict:
    """Compare state dicts by name and shape: what transfers from ``weights_model``.

    Parameters
    ----------
    model : nn.Module
        The destination model.
    weights_model : nn.Module
        The source model (e.g. the ``model``/``ema`` entry of a checkpoint).

    Returns
    -------
    dict
        ``transferred`` (keys in both with the same shape), ``new`` (only in ``model``; only
        ``*.fen.*`` when the architectures otherwise match), ``skipped`` (in both, shapes
        differ, e.g. the class-output convs when ``nc`` differs), ``unused`` (only in the
        source), each a sorted list of keys, and ``counts`` (their lengths plus ``total``, the
        destination's key count).

    Notes
    -----
    Ultralytics' ``load()`` may still copy *rows* of a ``skipped`` class conv when both models
    carry real class names that overlap (its remap by name); this report only compares shapes.
    """
    dst = model.state_dict()
    src = weights_model.state_dict()
    transferred = sorted(k for k in dst if k in src and src[k].shape == dst[k].shape)
    skipped = sorted(k for k in dst if k in src and src[k].shape != dst[k].shape)
    new = sorted(k for k in dst if k not in src)
    unused = sorted(k for k in src if k not in dst)
    report = {"transferred": transferred, "new": new, "skipped": skipped, "unused": unused}
    report["counts"] = {k: len(v) for k, v in report.items()} | {"total": len(dst)}
    return report


def _load_weights(path: Path) -> nn.Module:
    """Load the model of a local Ultralytics-style checkpoint (``ema`` first, else ``model``)."""
    from ultralytics.nn.tasks import load_checkpoint

    if path.suffix != ".pt":
        raise ValueError(f"weights must be a .pt checkpoint, got {path}")
    weights_model, _ = load_checkpoint(path)
    return weights_model


def build_model(
    model: str | Path,
    nc: int,
    use_fen: bool,
    fen_cfg: FenConfig | None = None,
    weights: str | Path | None = None,
    names: dict | None = None,
    verbose: bool = False,
):
    """Build a YOLO11 ``DetectionModel`` from its YAML, optionally add Lite-FEN and load weights.

    Parameters
    ----------
    model : str or Path
        A scale name (``yolo11n`` ... ``yolo11x``, with or without ``.yaml``) or a path to a YAML.
    nc : int
        Number of classes.
    use_fen : bool
        Attach Lite-FEN to the P3 input of the head (GRACE / ``fen`` variants).
    fen_cfg : FenConfig, optional
        Lite-FEN constants (paper defaults if omitted).
    weights : str or Path, optional
        A local ``.pt`` checkpoint (Ultralytics' or ours) transferred by name and shape. Tensors
        whose shape differs (e.g. the class convs when ``nc`` differs) keep their fresh init.
    names : dict, optional
        Class names ``{index: name}``; ``nc`` entries. Default: ``{i: str(i)}``.
    verbose : bool
        Let Ultralytics print the model summary and the transfer count.

    Returns
    -------
    DetectionModel
        The model in training mode. With ``weights``, ``model.transfer_report`` holds the
        :func:`transfer_report` of the load.

    Raises
    ------
    ValueError
        Unknown model name, ``nc < 1``, or ``names`` not matching ``nc``.
    FileNotFoundError
        ``weights`` given but the file does not exist (never downloaded).
    """
    cfg = _resolve_cfg(model)
    if int(nc) < 1:
        raise ValueError(f"nc must be >= 1, got {nc}")
    if names is not None:
        names = {int(k): str(v) for k, v in dict(names).items()}
        if sorted(names) != list(range(int(nc))):
            raise ValueError(f"names must have keys 0..{int(nc) - 1}, got {sorted(names)}")
    wpath = None
    if weights is not None:
        wpath = Path(weights).expanduser()
        if not wpath.is_file():
            raise FileNotFoundError(f"weights file not found: {wpath}")

    from ultralytics.nn.tasks import DetectionModel

    net = DetectionModel(cfg, nc=int(nc), verbose=verbose)
    if names is not None:
        net.names = names
    if use_fen:
        attach_fen(net, fen_cfg)
    if wpath is not None:
        src = _load_weights(wpath)
        net.load(src, verbose=verbose)  # Ultralytics' name+shape transfer (also fits cv3's width)
        net.transfer_report = transfer_report(net, src)
        if verbose:
            c = net.transfer_report["counts"]
            logging.getLogger(__name__).info(
                "weights %s: %d/%d transferred, %d new, %d skipped (shape), %d unused",
                wpath,
                c["transferred"],
                c["total"],
                c["new"],
                c["skipped"],
                c["unused"],
            )
    net.train()
    return net
