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
from grace.errors import GraceError
from grace.nn.fen import attach_fen

__all__ = ["VALID_MODELS", "build_model", "count_parameters", "resolve_model", "transfer_report"]

VALID_MODELS = tuple(f"yolo11{s}" for s in MODEL_SCALES)


def resolve_model(model: str | Path | dict) -> str | dict:
    """The one model-name resolver: ``yolo11s`` / ``yolo11s.yaml`` (the YAML shipped inside the
    ``ultralytics`` package, scale read from the name), a path to a model YAML, or a model dict
    (a checkpoint's ``yaml``) as it is.

    Raises
    ------
    GraceError
        One line naming the model and the valid names (a checkpoint is not a model name).
    """
    if isinstance(model, dict):
        return model
    text = str(model).strip()
    stem = text[:-5] if text.lower().endswith(".yaml") else text
    if stem.lower() in VALID_MODELS and not Path(text).exists():
        return f"{stem.lower()}.yaml"
    if text.lower().endswith((".yaml", ".yml")) and Path(text).is_file():
        return str(Path(text))
    if text.lower().endswith(".pt"):
        raise GraceError(f"{text}: a checkpoint is not a model name; pass it as --weights")
    raise GraceError(
        f"unknown model {text!r}: expected one of {', '.join(VALID_MODELS)} or a model .yaml file"
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
        raise GraceError(f"{path}: weights must be a .pt checkpoint")
    weights_model, _ = load_checkpoint(path)
    return weights_model


def build_model(
    model: str | Path | dict,
    nc: int,
    use_fen: bool,
    fen_cfg: FenConfig | None = None,
    weights: str | Path | nn.Module | None = None,
    names: dict | None = None,
    verbose: bool = False,
    channels: int = 3,
):
    """The one model factory (training, the benchmarks and the tests): a YOLO11
    ``DetectionModel`` from its YAML, Lite-FEN attached when asked, weights transferred.

    Parameters
    ----------
    model : str, Path or dict
        A scale name (``yolo11n`` ... ``yolo11x``, with or without ``.yaml``), a path to a YAML,
        or a model dict (see :func:`resolve_model`).
    nc : int
        Number of classes.
    use_fen : bool
        Attach Lite-FEN to the P3 input of the head (GRACE / ``fen`` variants).
    fen_cfg : FenConfig, optional
        Lite-FEN constants (paper defaults if omitted).
    weights : str, Path or nn.Module, optional
        A local ``.pt`` checkpoint (Ultralytics' or ours), or a model already loaded from one,
        transferred by name and shape (Ultralytics' ``load``). Tensors whose shape differs (e.g.
        the class convs when ``nc`` differs) keep their fresh init.
    names : dict, optional
        Class names ``{index: name}``; ``nc`` entries. Default: ``{i: str(i)}``.
    verbose : bool
        Let Ultralytics print the model summary and the transfer count.
    channels : int
        Input channels (Ultralytics' ``channels`` of the dataset).

    Returns
    -------
    DetectionModel
        The model in training mode. With ``weights``, ``model.transfer_report`` holds the
        :func:`transfer_report` of the load.

    Raises
    ------
    GraceError
        Unknown model name, or ``weights`` given as a path that does not exist (never
        downloaded) or is not a ``.pt``.
    ValueError
        ``nc < 1``, or ``names`` not matching ``nc``.
    """
    cfg = resolve_model(model)
    if int(nc) < 1:
        raise ValueError(f"nc must be >= 1, got {nc}")
    if names is not None:
        names = {int(k): str(v) for k, v in dict(names).items()}
        if sorted(names) != list(range(int(nc))):
            raise ValueError(f"names must have keys 0..{int(nc) - 1}, got {sorted(names)}")
    src = weights if isinstance(weights, nn.Module) else None
    if weights is not None and src is None:
        wpath = Path(weights).expanduser()
        if not wpath.is_file():
            raise GraceError(f"{wpath}: weights file not found")
        src = _load_weights(wpath)

    from ultralytics.nn.tasks import DetectionModel

    net = DetectionModel(cfg, nc=int(nc), ch=int(channels), verbose=verbose)
    if names is not None:
        net.names = names
    if use_fen:
        attach_fen(net, fen_cfg)
    if src is not None:
        net.load(src, verbose=verbose)  # Ultralytics' name+shape transfer (also fits cv3's width)
        net.transfer_report = transfer_report(net, src)
        if verbose:
            c = net.transfer_report["counts"]
            logging.getLogger(__name__).info(
                "weights: %d/%d transferred, %d new, %d skipped (shape), %d unused",
                c["transferred"],
                c["total"],
                c["new"],
                c["skipped"],
                c["unused"],
            )
    net.train()
    return net
