"""Lite-FEN: a light channel + spatial attention residual on the P3 input of the Detect head.

Paper equations 11-14::

    att(x) = 1/2 CA(x) + 1/2 SA(x)
    s_e    = s_base * min(1, (e + 1) / E_ramp)
    s_hat  = clip(s_e, s_min, s_max)
    y      = x + s_hat * (x * att(x))

The module is attached to an already built Ultralytics ``DetectionModel`` (``attach_fen``): the
head's class is swapped to :class:`FenDetect` and a ``fen`` submodule is added, so Ultralytics'
``parse_model`` never has to know our module names and every original state_dict key is kept.
Checkpoints are pickles; these classes must stay importable as ``grace.nn.fen``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from ultralytics.nn.modules.head import Detect

from grace.config import FenConfig

__all__ = [
    "FEN_YAML_KEY",
    "FenDetect",
    "LiteFEN",
    "attach_fen",
    "fen_param_count",
    "fen_strength",
    "has_fen",
    "set_fen_strength",
]

#: Key of the marker ``attach_fen`` writes into ``model.yaml`` (ignored by Ultralytics' parser).
FEN_YAML_KEY = "grace_fen"


def fen_strength(epoch: int, cfg: FenConfig | None = None) -> float:
    """Residual strength of Lite-FEN at an epoch (equations 12-13).

    Parameters
    ----------
    epoch : int
        Zero-based epoch index ``e``.
    cfg : FenConfig, optional
        Constants ``s_base``, ``e_ramp``, ``s_min``, ``s_max``; the paper's defaults if omitted.

    Returns
    -------
    float
        ``clip(s_base * min(1, (e + 1) / e_ramp), s_min, s_max)``.

    Raises
    ------
    ValueError
        If ``epoch`` is negative.
    """
    cfg = cfg or FenConfig()
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    s_e = cfg.s_base * min(1.0, (epoch + 1) / cfg.e_ramp)
    return float(min(max(s_e, cfg.s_min), cfg.s_max))


def fen_param_count(channels: int, reduction: int = 4) -> int:
    """Number of parameters of a :class:`LiteFEN` with ``channels`` input channels.

    Parameters
    ----------
    channels : int
        Channel count ``C`` of the P3 feature map.
    reduction : int
        Compression ratio ``r`` of the channel-attention MLP (hidden width ``max(1, C // r)``).

    Returns
    -------
    int
        ``2*C*Cr + Cr + C`` (CA, two 1x1 convs with bias) ``+ 10*C`` (SA depthwise 3x3 with bias)
        ``+ C + 1`` (SA 1x1 conv C->1 with bias).
    """
    c, cr = channels, max(1, channels // reduction)
    return (c * cr + cr) + (cr * c + c) + (9 * c + c) + (c + 1)


class LiteFEN(nn.Module):
    """Lightweight feature enhancement: ``y = x + s_hat * (x * (CA(x)/2 + SA(x)/2))``.

    Parameters
    ----------
    channels : int
        Channel count ``C`` of the input feature map.
    reduction : int
        Compression ratio ``r`` of the channel-attention MLP (``C -> C/r -> C``).
    strength : float, optional
        Initial ``s_hat``; defaults to the epoch-0 value of the paper's schedule (0.05).

    Notes
    -----
    ``s_hat`` is a persistent, non-learnable buffer (saved in ``state_dict`` and checkpoints) set
    by the trainer through :meth:`set_strength` / :func:`set_fen_strength`. No normalisation
    layer is used (paper), so every convolution carries a bias.
    """

    s_hat: torch.Tensor

    def __init__(self, channels: int, reduction: int = 4, strength: float | None = None) -> None:
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be >= 1, got {channels}, {reduction}")
        hidden = max(1, channels // reduction)
        self.channels = channels
        self.reduction = reduction
        self.ca = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1, bias=True),
            nn.SiLU(),
            nn.Conv2d(hidden, channels, 1, bias=True),
            nn.Sigmoid(),
        )
        self.sa = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=True),
            nn.Conv2d(channels, 1, 1, bias=True),
            nn.Sigmoid(),
        )
        s = fen_strength(0) if strength is None else float(strength)
        self.register_buffer("s_hat", torch.tensor(s, dtype=torch.float32), persistent=True)

    def set_strength(self, s: float) -> None:
        """Set the residual strength ``s_hat`` in place (keeps device and dtype).

        Parameters
        ----------
        s : float
            New strength; must be finite.
        """
        s = float(s)
        if not math.isfinite(s):
            raise ValueError(f"strength must be finite, got {s}")
        with torch.no_grad():
            self.s_hat.fill_(s)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``att(x) = CA(x)/2 + SA(x)/2`` broadcast to the shape of ``x`` (equation 11)."""
        return 0.5 * self.ca(x) + 0.5 * self.sa(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the bounded residual enhancement (equation 14)."""
        return x + self.s_hat.to(x.dtype) * (x * self.attention(x))

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, reduction={self.reduction}, s_hat={float(self.s_hat):.4f}"
        )


class FenDetect(Detect):
    """Ultralytics ``Detect`` head whose P3 input first passes through Lite-FEN (``self.fen``).

    Not built by ``parse_model``: :func:`attach_fen` swaps the class of an existing ``Detect``
    head and adds ``fen``. Everything else (training dicts, inference decoding, end-to-end
    branches, ``fuse()``, export flags) is ``Detect``'s own behaviour; the enhanced P3 map is also
    what ends up in the returned ``"feats"``.
    """

    fen: LiteFEN

    def forward(self, x: list[torch.Tensor]):
        """Enhance ``x[0]`` (P3) with Lite-FEN, then run ``Detect.forward`` unchanged."""
        fen = getattr(self, "fen", None)
        if fen is not None:
            x = [fen(x[0]), *x[1:]]  # new list: never mutate the caller's feature list
        return super().forward(x)


def _unwrap(model):
    """Return the ``nn.Module`` inside DDP / ModelEMA / YOLO wrappers (outermost first)."""
    seen = 0
    while not isinstance(model, nn.Module) and seen < 4:
        for attr in ("ema", "module", "model"):
            inner = getattr(model, attr, None)
            if inner is not None:
                model = inner
                break
        else:
            break
        seen += 1
    inner = getattr(model, "module", None)  # DistributedDataParallel / DataParallel
    if isinstance(inner, nn.Module):
        model = inner
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"expected a torch.nn.Module (or a wrapper of one), got {type(model).__name__}"
        )
    return model


def _detect_head(model: nn.Module) -> Detect:
    seq = getattr(model, "model", None)
    head = seq[-1] if isinstance(seq, nn.Sequential) and len(seq) else None
    if not isinstance(head, Detect):
        raise TypeError(
            f"attach_fen needs an Ultralytics DetectionModel whose last layer is Detect, "
            f"got {type(model).__name__} ending in {type(head).__name__}"
        )
    return head


def attach_fen(model: nn.Module, cfg: FenConfig | None = None) -> nn.Module:
    """Attach Lite-FEN to the P3 input of a built model's ``Detect`` head, in place.

    The head becomes a :class:`FenDetect` with a new ``fen`` submodule whose channel count is read
    from the head (``cv2[0][0].conv.in_channels``). All existing state_dict keys are unchanged;
    only ``model.<last>.fen.*`` keys are added, so pretrained weights still transfer by name.

    Parameters
    ----------
    model : DetectionModel
        A built Ultralytics detection model (any YOLO11 scale), or a DDP/EMA wrapper of one.
    cfg : FenConfig, optional
        Lite-FEN constants; ``s_hat`` starts at ``fen_strength(0, cfg)``.

    Returns
    -------
    DetectionModel
        The same model object. Attaching to a model that already has Lite-FEN is a no-op.
        ``model.yaml[FEN_YAML_KEY]`` records ``{"reduction", "channels"}`` so code that rebuilds
        a model from a checkpoint's YAML (Ultralytics' trainer does) can tell it had Lite-FEN.

    Raises
    ------
    TypeError
        If the last layer is not a plain ``Detect`` (Segment/Pose/OBB heads are not supported).
    """
    cfg = cfg or FenConfig()
    inner = _unwrap(model)
    head = _detect_head(inner)
    if isinstance(head, FenDetect) and isinstance(getattr(head, "fen", None), LiteFEN):
        return model  # idempotent
    if type(head) not in (Detect, FenDetect):
        raise TypeError(f"Lite-FEN attaches to a plain Detect head only, got {type(head).__name__}")
    channels = head.cv2[0][0].conv.in_channels
    ref = next(head.parameters())
    fen = LiteFEN(channels, reduction=cfg.reduction, strength=fen_strength(0, cfg))
    fen.to(device=ref.device, dtype=ref.dtype).train(head.training)
    for p in fen.parameters():  # follow the head (e.g. an exporter or a frozen copy)
        p.requires_grad_(ref.requires_grad)
    head.__class__ = FenDetect
    head.fen = fen
    yaml = getattr(inner, "yaml", None)
    if isinstance(yaml, dict):
        yaml[FEN_YAML_KEY] = {"reduction": cfg.reduction, "channels": channels}
    return model


def has_fen(model) -> bool:
    """Return True if ``model`` (or a DDP/EMA/YOLO wrapper of it) contains a :class:`LiteFEN`."""
    return any(isinstance(m, LiteFEN) for m in _unwrap(model).modules())


def set_fen_strength(model, s: float) -> int:
    """Set ``s_hat`` of every :class:`LiteFEN` inside ``model``.

    Parameters
    ----------
    model : nn.Module or wrapper
        A model, a DDP-wrapped model, an Ultralytics ``ModelEMA`` (its ``.ema``) or a ``YOLO``.
    s : float
        The strength, normally ``fen_strength(epoch, cfg)``.

    Returns
    -------
    int
        How many Lite-FEN modules were set (0 for a model without Lite-FEN).
    """
    n = 0
    for m in _unwrap(model).modules():
        if isinstance(m, LiteFEN):
            m.set_strength(s)
            n += 1
    return n
