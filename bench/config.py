"""Run and cell configuration: dataclasses, validation, and the hash that keys the cache.

Why: every model is trained with the same `TrainSpec`, held by one `RunConfig`; each (model,
seed, latent size) cell gets a fully resolved `CellConfig` whose hash names its directory, so a
finished cell is found again and a changed setting never reuses a stale result.

    cfg = RunConfig.of(epochs=3).validated()
    cell = cfg.cell("conv_ae", seed=0, latent_dim=32)
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench.errors import ConfigError
from bench.toml_file import load_toml
from bench.options import SPEC_OPTIONS, TOML_OPTIONS, TOML_TYPES
from bench.train_spec import TrainSpec, positive
from bench.tune import check_tuning

# Bump when the layout of a cell (its config or its files) changes; old results directories are
# then refused with a clear message (bench.store.run_record), never half-read.
CELL_FORMAT = 3  # 3: a typed training spec and TRAINING_VERSION instead of hashed source files

__all__ = ["CELL_FORMAT", "CellConfig", "ConfigError", "RunConfig", "TrainSpec"]


@dataclass(frozen=True, kw_only=True)
class CellConfig:
    """Everything that determines one trained model and its evaluation."""
    model: str
    seed: int
    latent_dim: int
    dataset: str
    limit: int | None
    train: TrainSpec               # resolved: precision float32 or mixed
    code: str = ""                 # the model's own code, comments left out (model_api)
    training_version: int = 0      # bench.train.TRAINING_VERSION when the cell was planned
    format: int = CELL_FORMAT
    # The model's own knobs (bench.tunables) where they differ from its declared defaults, and
    # whether this is a tuning trial (trained on the tuning split, scored on validation images,
    # bench.tune). Left out of the dict at their defaults, so an untuned cell's key does not
    # depend on tuning existing.
    knobs: dict = field(default_factory=dict)
    trial: bool = False

    def to_dict(self) -> dict:
        values = asdict(self)
        for name, default in (("knobs", {}), ("trial", False)):
            if values[name] == default:
                del values[name]
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "CellConfig":
        return cls(**{**values, "train": TrainSpec(**values["train"])})

    @property
    def key(self) -> str:
        """Stable short hash of the resolved config: the cell's cache key."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def dirname(self) -> str:
        return f"{'trial-' if self.trial else ''}{self.model}-z{self.latent_dim}-s{self.seed}-{self.key}"


DEFAULT_LATENT_DIM = 32  # the reference's size; a multi-size report reads this one where it shows one


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """The whole grid: datasets x models x seeds x latent sizes, every model trained by one
    `TrainSpec`. The runner takes one dataset at a time (`per_dataset`); `bench.run.sweep` runs
    several."""
    models: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    evaluators: tuple[str, ...] = ("default",)  # "default": every evaluator not marked opt-in
    datasets: tuple[str, ...] = ("mnist",)
    train: TrainSpec = TrainSpec()
    latent_dims: tuple[int, ...] = (DEFAULT_LATENT_DIM,)
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
    against: str | None = None  # a published reference run: train only the named models (run/against.py)
    diff: str | None = None     # with report_only: an earlier run to compare with (report/diff.py)
    tune: int | None = None     # trials per model (bench.tune); None: every model at its defaults
    tune_select: str = "recon"  # the criterion: recon (label-free) or probe (bench.tune.CRITERIA)
    tune_ranges: str | None = None  # a TOML file narrowing or widening the declared ranges

    @classmethod
    def of(cls, **values) -> "RunConfig":
        """A RunConfig from flat option values: the training spec's fields go into `train`."""
        spec = {k: values.pop(k) for k in list(values) if k in SPEC_OPTIONS}
        return cls(**values, train=TrainSpec(**spec))

    def validated(self) -> "RunConfig":
        for flag, items in (("--dataset", self.datasets), ("--models", self.models),
                            ("--exclude", self.exclude), ("--evaluators", self.evaluators),
                            ("--latent-dim", self.latent_dims), ("--seeds", self.seeds)):
            repeated = sorted({str(v) for v in items if list(items).count(v) > 1})
            if repeated:  # a repeated seed would count twice and narrow every interval
                raise ConfigError(f"{flag} names {', '.join(repeated)} more than once")
        if not self.datasets:
            raise ConfigError("--dataset needs at least one dataset")
        if not self.latent_dims:
            raise ConfigError("--latent-dim needs at least one size")
        for dim in self.latent_dims:
            positive("--latent-dim", dim)
        if not self.seeds:
            raise ConfigError("--seeds needs at least one seed")
        for seed in self.seeds:
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
                raise ConfigError(f"--seeds takes integers from 0 to 2**32 - 1, got {seed!r}")
        if self.limit is not None:
            positive("--limit", self.limit)
        if self.workers != "auto":
            positive("--workers", self.workers)
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"--executor must be local or ray, got {self.executor!r}")
        check_tuning(self.tune, self.tune_select, self.tune_ranges)
        if self.tune and self.against:
            raise ConfigError("--tune and --against are alternatives: a reference's models were "
                              "trained at their defaults, so tuned models would not compare")
        if self.diff and not self.report_only:
            raise ConfigError("--diff needs --report-only (it compares two finished runs)")
        if self.ray_address and self.executor != "ray":
            raise ConfigError("--ray-address needs --executor ray")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        return replace(self, train=self.train.validated())

    @property
    def dataset(self) -> str:
        """The dataset of a one-dataset run (what the runner executes)."""
        if len(self.datasets) != 1:
            raise ConfigError(f"this step runs one dataset at a time, got {','.join(self.datasets)}")
        return self.datasets[0]

    def per_dataset(self) -> list["RunConfig"]:
        return [replace(self, datasets=(name,)) for name in self.datasets]

    def cell(self, model: str, seed: int, latent_dim: int, *, mixed: bool | None = None,
             code: str = "", training_version: int = 0, knobs: dict | None = None,
             lr: float | None = None, trial: bool = False) -> CellConfig:
        """One cell of the grid; `mixed` is the precision resolved for the device
        (`bench.train.mixed_precision`), by default whether `precision` asks for mixed; `knobs`
        (the model's own, where not at their defaults) and `lr` come from tuning (bench.tune)."""
        mixed = self.train.precision == "mixed" if mixed is None else mixed
        train = self.train.resolved(mixed)
        return CellConfig(model=model, seed=seed, latent_dim=latent_dim, dataset=self.dataset,
                          limit=self.limit, train=train if lr is None else replace(train, lr=lr),
                          code=code, training_version=training_version, knobs=dict(knobs or {}),
                          trial=trial)

    @property
    def run_name(self) -> str:
        dims = "-".join(str(d) for d in self.latent_dims)
        limit = f"-n{self.limit}" if self.limit else ""
        spec = self.train
        budget = f"-f{spec.budget_flops:.0e}".replace("+", "") if spec.budget_flops else f"-e{spec.epochs}"
        tuned = f"-tune{self.tune}{'' if self.tune_select == 'recon' else self.tune_select}" if self.tune else ""
        return f"{'+'.join(self.datasets)}-z{dims}{budget}{limit}{tuned}"

    def to_dict(self) -> dict:
        return asdict(self)


def read_toml(path: str | Path) -> dict:
    """A TOML run file -> keyword arguments for RunConfig; unknown keys and wrong types raise
    ConfigError naming the key (with "did you mean")."""
    raw = load_toml(path, "config file")
    table = raw.get("run", raw)  # accept a [run] table or top-level keys
    values = {}
    for key, value in table.items():
        if key not in TOML_OPTIONS:
            close = difflib.get_close_matches(key, TOML_OPTIONS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
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
