"""The tuning protocol (`--tune K`): an equal budget of K trials per model, one fixed validation
split, a declared selection criterion.

Why this shape: a ranking under one shared setting mixes how good an objective is with how well
that setting suits it. Each trainable model gets the same number of configurations, drawn the
same way (a scrambled Sobol sequence, one seed, over its declared knobs, `bench.tunables`), and
each is trained on the same 5/6 of the training set and scored on the other 1/6, never on the
test set. The default configuration is scored too, and the selected configuration is the best
of the K draws and the default on the criterion; the run's seeds then train it on the whole
training set and the evaluators see it exactly as an untuned cell. Trials are cells
(`CellConfig.trial`): cached, resumable, run by every executor.

    plan = plan_trials(models, registry, cfg)   # {model: [Trial, ...]}
"""
from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, replace

from bench.errors import ConfigError
from bench.toml_file import load_toml
from bench.tunables import Knob, knobs_of

MAX_TRIALS = 256
TUNING_SEED = 0           # the Sobol scramble and every trial's training seed
VALIDATION_SHARE = 6      # 1/6 of the training images: MNIST's 60,000 -> 50,000 / 10,000
# criterion -> (the evaluator that scores a trial, its metric, higher is better)
CRITERIA = {"recon": ("reconstruction", "recon_mse", False),
            "probe": ("probe", "probe_acc", True)}
CRITERION_TEXT = {"recon": "validation reconstruction error, label-free",
                  "probe": "validation linear-probe accuracy, uses labels: 'best achievable'"}


@dataclass(frozen=True)
class Trial:
    """One configuration of one model: every knob's value (the learning rate as `lr`)."""
    model: str
    values: dict
    default: bool = False   # the model's default configuration, scored besides the K draws


def check_tuning(tune: int | None, select: str, ranges: str | None) -> None:
    """The tuning options on their own (before any model is known)."""
    if tune is None:
        if ranges is not None:
            raise ConfigError("--tune-ranges needs --tune K (the trial budget)")
        return
    if not isinstance(tune, int) or isinstance(tune, bool) or not 1 <= tune <= MAX_TRIALS:
        raise ConfigError(f"--tune takes a number of trials from 1 to {MAX_TRIALS}, got {tune!r}")
    if select not in CRITERIA:
        raise ConfigError(f"--tune-select must be {' or '.join(CRITERIA)}, got {select!r}")


def search_spaces(models: list[str], registry, lr: float, ranges: str | None) -> dict[str, dict[str, Knob]]:
    """Each tunable model's knobs, with the ranges of a `--tune-ranges` TOML file applied; a
    file naming an unknown model or knob, or an empty or invalid range, is a ConfigError."""
    spaces = {m: knobs_of(registry.get(m).meta, lr) for m in models}
    spaces = {m: space for m, space in spaces.items() if space}
    for pattern, table in (read_ranges(ranges) if ranges else {}).items():
        targets = list(spaces) if pattern == "*" else [pattern]
        if pattern != "*" and pattern not in spaces:
            close = difflib.get_close_matches(pattern, spaces, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"--tune-ranges {ranges}: [{pattern}] is not a tunable model of this "
                              f"run.{hint} Tunable: {', '.join(spaces) or 'none'}")
        for knob, bounds in table.items():
            for model in targets:
                if knob not in spaces[model]:
                    if pattern == "*":
                        continue  # "*" sets a knob wherever a model has it
                    raise ConfigError(f"--tune-ranges {ranges}: {model} has no knob {knob!r}; "
                                      f"it has {', '.join(spaces[model])}")
                spaces[model][knob] = _ranged(ranges, f"{pattern}.{knob}", spaces[model][knob], bounds)
    return spaces


def read_ranges(path: str) -> dict[str, dict]:
    raw = load_toml(path, "--tune-ranges")
    if not all(isinstance(t, dict) for t in raw.values()):
        raise ConfigError(f"--tune-ranges {path}: give one table per model, e.g. [beta_vae] "
                          "beta = [1.0, 8.0] (or [\"*\"] for every model)")
    return raw


def _ranged(path: str, where: str, knob: Knob, bounds) -> Knob:
    if not (isinstance(bounds, list) and len(bounds) == 2):
        raise ConfigError(f"--tune-ranges {path}: {where} must be [low, high], got {bounds!r}")
    try:
        return replace(knob, low=bounds[0], high=bounds[1])
    except ValueError as exc:  # Knob checks itself
        raise ConfigError(f"--tune-ranges {path}: {where}: {exc}") from None


def plan_trials(spaces: dict[str, dict[str, Knob]], k: int) -> dict[str, list[Trial]]:
    """Per model: its default configuration, then K draws of a scrambled Sobol sequence (seed
    TUNING_SEED) mapped through each knob's scale. The same sequence for every model with as
    many knobs, so no model gets luckier draws by construction."""
    from scipy.stats import qmc

    plan = {}
    for model, space in spaces.items():
        with warnings.catch_warnings():  # a K that is not a power of two is fine here
            warnings.simplefilter("ignore", UserWarning)
            points = qmc.Sobol(d=len(space), scramble=True, seed=TUNING_SEED).random(k)
        default = Trial(model, {name: knob.default for name, knob in space.items()}, default=True)
        draws = [Trial(model, {name: knob.at(u) for (name, knob), u in zip(space.items(), point)})
                 for point in points]
        plan[model] = [default, *draws]
    return plan


def select(scores: list[float | None], criterion: str) -> int | None:
    """Index of the best trial on the criterion (failed trials, None, never win)."""
    higher = CRITERIA[criterion][2]
    scored = [(s if higher else -s, -i) for i, s in enumerate(scores) if s is not None]
    return -max(scored)[1] if scored else None  # a tie goes to the earlier trial (the default)
