"""Run and cell configuration: dataclasses, validation, and the hash that keys the cache.

Why: every model is trained with the same budget, so the budget lives in one `RunConfig`; each
(model, seed, latent size) cell gets a fully resolved `CellConfig` whose hash names its directory,
so a finished cell is found again and a changed setting never reuses a stale result.

    cfg = RunConfig(epochs=3).validated()
    cell = cfg.cell("conv_ae", seed=0, latent_dim=32)
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench.options import PRECISIONS, TOML_OPTIONS, TOML_TYPES

# Bump when a change to training or data handling makes old cells incomparable.
CELL_FORMAT = 2  # 2: keyed by the model protocol alone (bench.plugins split off)
MAX_EPOCHS = 10_000  # a typo like --epochs 80000 would otherwise run for weeks
MAX_BATCH = 1 << 20  # a larger batch is a typo (and would not fit in memory)
# Cell options added later, with their defaults (left out of the cache key at the default).
LATER_OPTIONS = {"amp": False, "budget_flops": None}
RENAMED_KEYS = {"amp": 'precision = "mixed" (or "float32")'}  # TOML keys of older releases
MAX_BUDGET_FLOPS = 1e18  # ~5,000 conv_ae epochs of MNIST: more is a typo


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
    epochs: int | None  # None: as many as `budget_flops` buys this model (bench.cost)
    batch_size: int
    lr: float
    code: str = ""  # fingerprint of the model's source (model_api.model_fingerprint)
    format: int = CELL_FORMAT
    amp: bool = False  # mixed-precision training (bench.train.autocast)
    budget_flops: float | None = None  # training FLOPs per model, instead of equal epochs

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def key(self) -> str:
        """Stable short hash of the resolved config: the cell's cache key. Options added after
        the first release are left out while at their default, so adding one does not orphan
        every finished cell."""
        fields = {k: v for k, v in self.to_dict().items() if LATER_OPTIONS.get(k, object()) != v}
        blob = json.dumps(fields, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def dirname(self) -> str:
        return f"{self.model}-z{self.latent_dim}-s{self.seed}-{self.key}"


@dataclass(frozen=True)
class RunConfig:
    """The whole grid: datasets x models x seeds x latent sizes, trained with one shared budget.
    The runner takes one dataset at a time (`per_dataset`); `bench.run.sweep` runs several."""
    models: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    evaluators: tuple[str, ...] = ("default",)  # "default": every evaluator not marked opt-in
    datasets: tuple[str, ...] = ("mnist",)
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
    workers: int | str = 1   # or "auto": one per CPU core (at most one per cell), 1 on CUDA
    executor: str = "local"  # or "ray": every cell a Ray task (bench.run.ray_executor)
    ray_address: str | None = None  # join this Ray cluster; None starts a local instance
    precision: str = "auto"  # float32, mixed, or auto: mixed on CPUs with native bfloat16
    budget_flops: float | None = None  # equal training FLOPs for every model (replaces epochs)
    extra: dict = field(default_factory=dict)

    def validated(self) -> "RunConfig":
        if not self.datasets:
            raise ConfigError("--dataset needs at least one dataset")
        if len(set(self.datasets)) != len(self.datasets):
            raise ConfigError(f"--dataset names a dataset twice: {','.join(self.datasets)}")
        _positive("--epochs", self.epochs, MAX_EPOCHS)
        _positive("--batch-size", self.batch_size, MAX_BATCH)  # above the data: one full batch
        if not self.latent_dims:
            raise ConfigError("--latent-dim needs at least one size")
        for dim in self.latent_dims:
            _positive("--latent-dim", dim)
        if not self.seeds:
            raise ConfigError("--seeds needs at least one seed")
        for seed in self.seeds:
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
                raise ConfigError(f"--seeds takes integers from 0 to 2**32 - 1, got {seed!r}")
        if self.limit is not None:
            _positive("--limit", self.limit)
        if self.workers != "auto":
            _positive("--workers", self.workers)
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"--executor must be local or ray, got {self.executor!r}")
        if self.budget_flops is not None and not (
                isinstance(self.budget_flops, (int, float)) and not isinstance(self.budget_flops, bool)
                and 0 < self.budget_flops <= MAX_BUDGET_FLOPS):
            raise ConfigError(f"--budget-flops must be a number of FLOPs in (0, {MAX_BUDGET_FLOPS:.0e}], "
                              f"for example 2e14; got {self.budget_flops!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"--precision must be {', '.join(PRECISIONS)}; got {self.precision!r}")
        if self.ray_address and self.executor != "ray":
            raise ConfigError("--ray-address needs --executor ray")
        if not (isinstance(self.lr, (int, float)) and not isinstance(self.lr, bool) and 0 < self.lr < 10):
            raise ConfigError(f"learning rate must be in (0, 10), got {self.lr!r}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        return self

    @property
    def dataset(self) -> str:
        """The dataset of a one-dataset run (what the runner executes)."""
        if len(self.datasets) != 1:
            raise ConfigError(f"this step runs one dataset at a time, got {','.join(self.datasets)}")
        return self.datasets[0]

    def per_dataset(self) -> list["RunConfig"]:
        return [replace(self, datasets=(name,)) for name in self.datasets]

    def cell(self, model: str, seed: int, latent_dim: int, amp: bool | None = None) -> CellConfig:
        """One cell of the grid; `amp` is the precision resolved for the device
        (`bench.train.mixed_precision`), by default whether `precision` asks for mixed."""
        amp = self.precision == "mixed" if amp is None else amp
        return CellConfig(model=model, seed=seed, latent_dim=latent_dim, dataset=self.dataset,
                          limit=self.limit, batch_size=self.batch_size, lr=float(self.lr),
                          amp=amp, epochs=None if self.budget_flops else self.epochs,
                          budget_flops=float(self.budget_flops) if self.budget_flops else None)

    @property
    def run_name(self) -> str:
        dims = "-".join(str(d) for d in self.latent_dims)
        limit = f"-n{self.limit}" if self.limit else ""
        budget = f"-f{self.budget_flops:.0e}".replace("+", "") if self.budget_flops else f"-e{self.epochs}"
        return f"{'+'.join(self.datasets)}-z{dims}{budget}{limit}"

    def to_dict(self) -> dict:
        return asdict(self)


def _positive(flag: str, value, most: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{flag} must be a positive integer, got {value!r}")
    if most is not None and value > most:
        raise ConfigError(f"{flag} {value} is more than this benchmark allows ({most:,})")


def read_toml(path: str | Path) -> dict:
    """A TOML run file -> keyword arguments for RunConfig; unknown keys and wrong types raise
    ConfigError naming the key (with "did you mean")."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory, not a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    table = raw.get("run", raw)  # accept a [run] table or top-level keys
    values = {}
    for key, value in table.items():
        if key not in TOML_OPTIONS:
            close = difflib.get_close_matches(key, TOML_OPTIONS, n=1)
            hint = (f" It is now {RENAMED_KEYS[key]}." if key in RENAMED_KEYS
                    else f" Did you mean {close[0]!r}?" if close else "")
            raise ConfigError(f"{path}: unknown key {key!r}.{hint} Known: {', '.join(TOML_OPTIONS)}")
        option = TOML_OPTIONS[key]
        values[option.field] = _coerce(path, key, value, TOML_TYPES[option.kind])
    return values


def _coerce(path, key, value, kind):
    wrong = ConfigError(f"{path}: {key} has the wrong type ({type(value).__name__}: {value!r})")
    if kind in ("patterns", "ints"):
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        if kind == "ints" and isinstance(value, str):
            try:
                items = [int(v) for v in items]
            except ValueError:
                raise wrong from None
        if not isinstance(items, list):
            items = [items]
        want = str if kind == "patterns" else int
        if not items or not all(isinstance(v, want) and not isinstance(v, bool) for v in items):
            raise wrong
        return tuple(items)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise wrong
        return value
    if not isinstance(value, kind) or isinstance(value, bool):
        raise wrong
    return value


def cpu_cores() -> int:
    """Cores this process may use (affinity-aware where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def effective_workers(workers: int | str, n_cells: int, on_cpu: bool) -> int:
    """`--workers auto`: a single-thread process per core, no more than there are cells; on a
    GPU one process (the device is the shared resource). Never more processes than cells."""
    if workers != "auto":
        return max(1, min(int(workers), n_cells))
    return max(1, min(cpu_cores(), n_cells)) if on_cpu else 1
