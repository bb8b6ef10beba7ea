"""The report's cost section (issue #16): the Pareto front, Kendall's tau between the last two
checkpoints, and a verdict sentence only for a swap the leaderboard can tell apart."""
import numpy as np
import pandas as pd
import pytest

from bench.train_spec import TrainSpec
from bench.cards import Cards, MetricSpec
from bench.report.comparison import Comparison, PerSeed, _best_and_rank
from bench.config import CellConfig
from bench.report.cost import cost_section, pareto_front, rank_agreement
from bench.store.records import write_record
from bench.store.cell import CellStore

CARDS = Cards({"probe": {"order": 30, "metrics": [vars(MetricSpec(
    "probe_acc", higher_is_better=True, help="probe", group="probing", headline=True, verdict="linear probe", cheap=True,
    interval="mean"))]}})
# probe_acc at epochs 4 and 8: a and b swap places, c stays last
CURVES = {"a": (0.90, 0.92), "b": (0.89, 0.93), "c": (0.80, 0.81)}
FLOPS = {"a": 1e12, "b": 4e12, "c": 2e12}


def test_the_pareto_front_keeps_what_no_cheaper_model_beats():
    final = pd.DataFrame({"model": ["a", "b", "c", "d"], "metric": "err", "value": [0.5, 0.3, 0.4, 0.3],
                          "train_flops": [1, 3, 2, 4]})
    assert pareto_front(final, "err", higher_is_better=False) == ["a", "c", "b"]  # d: no better than b
    assert pareto_front(final, "err", higher_is_better=True) == ["a"]


def test_kendall_tau_and_the_swapped_pairs_of_the_last_two_checkpoints():
    mean = pd.DataFrame([(m, e, "probe_acc", v) for m, vs in CURVES.items() for e, v in zip((4, 8), vs)],
                        columns=["model", "epoch", "metric", "value"])
    (before, after, n, tau, swapped), = rank_agreement(mean, ["probe_acc"]).values()
    assert (before, after, n, swapped) == (4, 8, 3, [("b", "a")])
    assert tau == pytest.approx(1 / 3)  # 2 concordant pairs, 1 discordant, of 3


def cells_with_curves(root):
    cells = []
    for model, values in CURVES.items():
        cell = CellStore(root, CellConfig(model=model, seed=0, latent_dim=4, dataset="digits", limit=None,
                                         train=TrainSpec(epochs=8, batch_size=64, precision="float32")))
        cell.dir.mkdir(parents=True)
        cell.save_checkpoints({"points": [
            {"epoch": e, "train_flops": FLOPS[model] * e / 8, "train_seconds": e, "metrics": {"probe_acc": v}}
            for e, v in zip((4, 8), values)]})
        write_record(cell.dir / "train.json", {"trainable": True, "train_flops": FLOPS[model],
                                               "epochs": 8, "seconds": 8.0, "files": {}})
        cells.append(cell)
    return cells


def comparison(spread: float) -> Comparison:
    """One seed each, per-image replicates around each model's final value, `spread` wide,
    independent; the column's pairs tested as the report tests them."""
    rng = np.random.default_rng(0)
    per_seed = {(m, 4, "probe_acc"): PerSeed([0], np.array([v[1]]),
                                             (v[1] + rng.normal(0, spread, 1000))[:, None])
                for m, v in CURVES.items()}
    summary = pd.DataFrame({"model": list(CURVES), "latent_dim": 4, "metric": "probe_acc",
                            "mean": [v[1] for v in CURVES.values()], "higher_is_better": True,
                            "diagnostic": False})
    comp = Comparison(pd.DataFrame(), summary, {k: p.images[:, 0] for k, p in per_seed.items()},
                      [0], per_seed)
    _best_and_rank(comp)
    return comp


def test_a_swap_reaches_the_verdict_only_when_the_leaderboard_separates_the_pair(tmp_path):
    cells = cells_with_curves(tmp_path)
    results = pd.DataFrame([(m, 0, 4, "probe_acc", v[1]) for m, v in CURVES.items()],
                           columns=["model", "seed", "latent_dim", "metric", "value"])
    separable = cost_section(cells, results, CARDS, comparison(0.0001))
    assert len(separable.verdict) == 1 and "b and a swapped places" in separable.verdict[0]
    assert set(separable.images) == {"figures/quality_vs_compute.png", "figures/pareto.png"}
    tied = cost_section(cells, results, CARDS, comparison(0.05))
    assert tied.verdict == []  # a and b within the noise: their swap is not news
    table = next(b for b in tied.blocks if getattr(b, "headers", None) and "real swaps" in b.headers)
    assert table.rows[0][-2:] == ["1", "none"]
    front = next(b for b in tied.blocks if getattr(b, "items", None))
    assert front.items == ["Pareto front on probe_acc: a, b (cheapest first)"]
