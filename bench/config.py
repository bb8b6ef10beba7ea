"""Run and cell configuration: dataclasses, validation, and the hash that keys the cache.

Why: every model is trained with the same budget, so the budget lives in one `RunConfig`; each
(model, seed, latent size) cell gets a fully resolved `CellConfig` whose hash names its directory,
so a finished cell is found again and a changed setting never reuses a stale result.

    cfg = RunConfig(epochs=3).validated()
    cell = cfg.cell("conv_ae", seed=0, latent_dim=32)
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

# Bump when a change to training or data handling makes old cells incomparable.
CELL_FORMAT = 1


class ConfigError(ValueError):
    """A bad configuration value; the CLI turns it into exit code 2."""


@dataclass(frozen=True)
class CellConfig:
    """Everything that determines one trained model and its evaluation."""
    model: str
    seed: int
    latent_dim: int
    dataset: str
    limit: int | None
    epochs: int
    batch_size: int
    lr: float
    format: int = CELL_FORMAT

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def key(self) -> str:
        """Stable short hash of the resolved config: the cell's cache key."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def dirname(self) -> str:
        return f"{self.model}-z{self.latent_dim}-s{self.seed}-{self.key}"


@dataclass(frozen=True)
class RunConfig:
    """The whole grid: models x seeds x latent sizes, trained with one shared budget."""
    models: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    evaluators: tuple[str, ...] = ("*",)
    dataset: str = "mnist"
    epochs: int = 8
    batch_size: int = 128
    lr: float = 1e-3
    latent_dims: tuple[int, ...] = (32,)
    seeds: tuple[int, ...] = (0,)
    limit: int | None = None
    device: str = "auto"
    out: str | None = None
    data_root: str | None = None
    force: bool = False
    report_only: bool = False
    extra: dict = field(default_factory=dict)

    def validated(self) -> "RunConfig":
        _positive("--epochs", self.epochs)
        _positive("--batch-size", self.batch_size)
        if not self.latent_dims:
            raise ConfigError("--latent-dim needs at least one size")
        for dim in self.latent_dims:
            _positive("--latent-dim", dim)
        if not self.seeds:
            raise ConfigError("--seeds needs at least one seed")
        for seed in self.seeds:
            if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                raise ConfigError(f"--seeds takes non-negative integers, got {seed!r}")
        if self.limit is not None:
            _positive("--limit", self.limit)
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 10):
            raise ConfigError(f"learning rate must be in (0, 10), got {self.lr!r}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        return self

    def cell(self, model: str, seed: int, latent_dim: int) -> CellConfig:
        return CellConfig(model=model, seed=seed, latent_dim=latent_dim, dataset=self.dataset,
                          limit=self.limit, epochs=self.epochs, batch_size=self.batch_size,
                          lr=float(self.lr))

    @property
    def run_name(self) -> str:
        dims = "-".join(str(d) for d in self.latent_dims)
        limit = f"-n{self.limit}" if self.limit else ""
        return f"{self.dataset}-z{dims}-e{self.epochs}{limit}"

    def to_dict(self) -> dict:
        return asdict(self)


def _positive(flag: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{flag} must be a positive integer, got {value!r}")
