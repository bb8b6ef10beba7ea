"""The training spec: every setting the one training loop takes, in one typed, frozen value.

Why: the run holds one spec, each cell holds it resolved for its device, the loop takes it whole,
the cell key hashes it and the report prints it field by field. So a new training option is one
field here plus one `Option` in `bench.options` (README "Adding a training option"); nothing
else lists the settings.

    spec = TrainSpec(epochs=8, lr=1e-3).validated()
    train(model, x_train, spec, seed=0)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from bench.errors import ConfigError

DEFAULT_EPOCHS = 8
MAX_EPOCHS = 10_000  # a typo like --epochs 80000 would otherwise run for weeks
MAX_BATCH = 1 << 20  # a larger batch is a typo (and would not fit in memory)
MAX_BUDGET_FLOPS = 1e18  # ~5,000 conv_ae epochs of MNIST: more is a typo
PRECISIONS = ("auto", "float32", "mixed")  # "auto" is resolved per device (bench.train)
LR_SCHEDULES = ("constant", "linear")


@dataclass(frozen=True, kw_only=True)
class TrainSpec:
    """How every model is trained. In a cell, `precision` is resolved (float32 or mixed) and
    `epochs` is None exactly when `budget_flops` decides them (bench.cost)."""
    epochs: int | None = None          # None in a run: DEFAULT_EPOCHS unless budget_flops is set
    budget_flops: float | None = None  # equal training FLOPs for every model, instead of epochs
    batch_size: int = 128
    lr: float = 1e-3                   # AdamW's learning rate
    weight_decay: float = 0.0          # AdamW's decoupled weight decay
    lr_schedule: str = "constant"      # constant: epoch e of a run = an e-epoch run; linear: to 0
    precision: str = "auto"            # float32, mixed (bfloat16 / float16 autocast), or auto
    # CPU threads while training: bfloat16 sums depend on how work is split across threads, so
    # every executor trains a cell with this many (parallelism comes from cells side by side)
    threads: int = 1

    def validated(self) -> "TrainSpec":
        """This spec with its defaults filled in, or ConfigError naming the flag."""
        if self.epochs is not None and self.budget_flops is not None:
            raise ConfigError("--epochs and --budget-flops are alternatives; give one of them")
        if self.budget_flops is not None and not (
                _is_number(self.budget_flops) and 0 < self.budget_flops <= MAX_BUDGET_FLOPS):
            raise ConfigError(f"--budget-flops must be a number of FLOPs in (0, {MAX_BUDGET_FLOPS:.0e}], "
                              f"for example 2e14; got {self.budget_flops!r}")
        epochs = self.epochs
        if epochs is None and self.budget_flops is None:
            epochs = DEFAULT_EPOCHS
        if epochs is not None:
            positive("--epochs", epochs, MAX_EPOCHS)
        positive("--batch-size", self.batch_size, MAX_BATCH)
        if not (_is_number(self.lr) and 0 < self.lr < 10):
            raise ConfigError(f"--lr must be in (0, 10), got {self.lr!r}")
        if not (_is_number(self.weight_decay) and 0 <= self.weight_decay < 10):
            raise ConfigError(f"--weight-decay must be in [0, 10), got {self.weight_decay!r}")
        for flag, value, allowed in (("--lr-schedule", self.lr_schedule, LR_SCHEDULES),
                                     ("--precision", self.precision, PRECISIONS)):
            if value not in allowed:
                raise ConfigError(f"{flag} must be {', '.join(allowed)}; got {value!r}")
        positive("threads", self.threads, 1024)
        return replace(self, epochs=epochs, lr=float(self.lr), weight_decay=float(self.weight_decay),
                       budget_flops=None if self.budget_flops is None else float(self.budget_flops))

    def resolved(self, mixed: bool) -> "TrainSpec":
        """The spec a cell trains with: `precision` as the device resolved it."""
        return replace(self, precision="mixed" if mixed else "float32")

    @property
    def mixed(self) -> bool:
        if self.precision == "auto":
            raise ValueError("TrainSpec.precision 'auto' must be resolved for a device first")
        return self.precision == "mixed"

    def to_dict(self) -> dict:
        return asdict(self)



def spec_text(spec: dict) -> str:
    """Every setting of a spec (as stored in JSON), for the report: `epochs=8, batch_size=128,
    ...`; unset ones left out. Generic, so a new field appears in every report with no edit."""
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in spec.items() if v is not None)


SPEC_FIELDS = tuple(f.name for f in fields(TrainSpec))


def positive(flag: str, value, most: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{flag} must be a positive integer, got {value!r}")
    if most is not None and value > most:
        raise ConfigError(f"{flag} {value} is more than this benchmark allows ({most:,})")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
