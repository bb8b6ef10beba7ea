"""What a model may be tuned over: each knob's default, range and scale, declared where it registers.

Why: an equal tuning budget (`bench.tune`) needs every model's search space in one typed place;
the model cards print it; and each default lives here once, because the builder receives the
knobs' values (defaults filled in), so an untuned run trains exactly what the registration says.
Every trainable model is also tuned over the learning rate (`LEARNING_RATE`, default the run's
`--lr`); baselines (family "baseline") declare nothing and are never tuned.

    @register_model("beta_vae", ..., tunables={"beta": Knob(4.0, 0.5, 16.0)})
    def beta_vae(input_shape, latent_dim, beta): return VAE(input_shape, latent_dim, beta=beta)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

SCALES = ("log", "linear")


@dataclass(frozen=True)
class Knob:
    """One tunable setting: `default` (what an untuned run uses), the search range [low, high]
    and the scale the search is uniform on; `integer` knobs are rounded (a codebook size)."""
    default: float
    low: float
    high: float
    scale: str = "log"
    integer: bool = False

    def __post_init__(self):
        problem = self.problem()
        if problem:
            raise ValueError(problem)

    def problem(self) -> str | None:
        """What is wrong with this declaration (None: nothing); a TOML range is checked the same way."""
        numbers = (self.default, self.low, self.high)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                   for v in numbers):
            return "default, low and high must be finite numbers"
        if self.scale not in SCALES:
            return f"scale must be {' or '.join(SCALES)}, got {self.scale!r}"
        if not self.low < self.high:
            return f"the range [{self.low:g}, {self.high:g}] is empty (low must be below high)"
        if self.scale == "log" and (self.low <= 0 or self.default <= 0):
            return f"a log-scale knob must be positive, got low {self.low:g}, default {self.default:g}"
        return None

    def at(self, u: float) -> float:
        """The value at quantile `u` in [0, 1) of the search, to 3 significant digits (readable
        tables; the trial's key holds exactly what was trained)."""
        if self.scale == "log":
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        return int(round(value)) if self.integer else float(f"{value:.3g}")

    def distance(self, value: float) -> float:
        """How far `value` is from the default: decades on a log scale, range fractions on a
        linear one (the tuned-configuration table)."""
        if self.scale == "log":
            return math.log10(value / self.default)
        return (value - self.default) / (self.high - self.low)

    def describe(self) -> str:
        return f"{self.default:g} ({self.scale} {self.low:g}-{self.high:g})"


# AdamW's learning rate: a knob of every trainable model. Its default is the run's --lr.
LEARNING_RATE = Knob(1e-3, 1e-4, 1e-2)


def knobs_of(meta: dict, lr: float) -> dict[str, Knob]:
    """A registered model's search space: the learning rate (default `lr`) and its own knobs;
    nothing for a baseline."""
    if meta.get("family") == "baseline":
        return {}
    own = meta.get("tunables", {})
    return {"lr": replace(LEARNING_RATE, default=lr), **own}


def own_values(meta: dict, overrides: dict | None) -> dict:
    """The keyword values a builder receives: every declared knob's default, `overrides` on top.
    An override the model does not declare is a ValueError (a stale or mistyped trial)."""
    own = meta.get("tunables", {})
    unknown = sorted(set(overrides or {}) - set(own))
    if unknown:
        raise ValueError(f"unknown knob(s) {', '.join(unknown)}; the model declares "
                         f"{', '.join(own) or 'none'}")
    return {name: knob.default for name, knob in own.items()} | dict(overrides or {})


def describe(meta: dict) -> str:
    """The model's own knobs for its card, e.g. `beta 4 (log 0.5-16)`; '' when it has none."""
    return ", ".join(f"{name} {knob.describe()}" for name, knob in meta.get("tunables", {}).items())
