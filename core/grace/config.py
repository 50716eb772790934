"""Every hyper-parameter of GRACE in one place, with the paper's defaults.

The paper (Methods, equations 6-14) fixes most constants; where it is silent we choose and say
so here:

* ``SamplerConfig.ema_decay`` = 0.9: the EMA of the per-class statistics is updated once every
  ``update_every`` (20) mini-batches from the mean over those batches, so a decay of 0.9 gives
  the EMA a memory of about 10 updates = 200 mini-batches (roughly two NEU-DET epochs at batch
  16), smooth enough to suppress batch noise and fast enough to follow training.
* ``SamplerConfig.eps`` = 1e-6: ``f_c`` is the *relative* instance frequency of class c in the
  training labels (sums to 1), so eps only guards an absent class (f_c = 0 gives a large but
  finite base weight, later bounded by the clip of equation 8).
* ``SamplerConfig.image_rule`` = "mean": an image's sampling weight is the mean ``w_final`` over
  its instances; an image without labels gets weight 1 (the mean class weight).
* Before the first update the EMAs start at g = 0 and c = 0, and a class's first measured value
  replaces the start value instead of being blended into it. c starts at 0 because a fresh YOLO
  detector is unconfident (Ultralytics initialises the class bias to a prior of about 0.01/nc),
  and a class none of whose confidences reaches 0.01 has not shown any confidence yet. (We first
  started c at 0.5, "an uninformed sigmoid"; on NEU-DET that kept the classes with no confidence
  >= 0.01 in the first epochs at c = 0.5 while measured classes sat near 0.03, so DS-CBSM++
  *down*-weighted exactly the classes it knew least about.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

VARIANTS = ("baseline", "ds", "fen", "grace")
MODEL_SCALES = ("n", "s", "m", "l", "x")


@dataclass(frozen=True)
class SamplerConfig:
    """DS-CBSM++ (equations 6-10)."""

    alpha: float = 0.22  # weight of log(1 + g_ema) in Delta_c (eq. 7)
    beta: float = 0.14  # weight of (1 - c_ema) in Delta_c (eq. 7)
    w_min: float = 0.85  # clip of w_dyn (eq. 8)
    w_max: float = 1.35
    gamma_max: float = 0.60  # eq. 9
    e_ramp: int = 30  # eq. 9, epochs of the linear ramp
    update_every: int = 20  # mini-batches between EMA and weight updates
    conf_min: float = 0.01  # only confidences >= this count
    ema_decay: float = 0.9  # our choice, see module docstring
    eps: float = 1e-6  # our choice, see module docstring
    image_rule: str = "mean"  # "mean" or "max" over an image's instances


@dataclass(frozen=True)
class FenConfig:
    """Lite-FEN (equations 11-14)."""

    reduction: int = 4  # r of the channel-attention MLP
    s_base: float = 0.20  # eq. 12
    s_min: float = 0.05  # eq. 13
    s_max: float = 0.30
    e_ramp: int = 30  # eq. 12


@dataclass(frozen=True)
class GraceConfig:
    """Which modules are on, and their settings. Serialised next to every run."""

    variant: str = "grace"
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    fen: FenConfig = field(default_factory=FenConfig)
    batch_event_every: int = 10  # write a `batch` event every this many mini-batches

    @property
    def use_ds(self) -> bool:
        return self.variant in ("ds", "grace")

    @property
    def use_fen(self) -> bool:
        return self.variant in ("fen", "grace")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GraceConfig:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if isinstance(kw.get("sampler"), dict):
            kw["sampler"] = SamplerConfig(**kw["sampler"])
        if isinstance(kw.get("fen"), dict):
            kw["fen"] = FenConfig(**kw["fen"])
        return cls(**kw)


@dataclass
class TrainDefaults:
    """The paper's training protocol (Results, 'Experiment setting')."""

    model: str = "yolo11s"
    epochs: int = 200
    batch: int = 16
    imgsz: int = 640
    lr0: float = 0.001
    optimizer: str = "SGD"
