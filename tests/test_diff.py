"""Compare two runs (#33): `--report-only --out B --diff A` writes B/diff.md and diff.html with
what differs in the settings and each shared model's paired change, flagged where separable."""
import json
import re
import shutil

import pandas as pd
import pytest

from bench.cli import main

ARGS = ["--dataset", "digits", "--models", "dense_ae,pca", "--evaluators", "reconstruction,kmeans",
        "--latent-dim", "4", "--seeds", "0,1,2", "--workers", "1", "-q"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("diff")
    assert main(ARGS + ["--epochs", "1", "--out", str(root / "a")]) == 0
    assert main(ARGS + ["--epochs", "5", "--out", str(root / "b")]) == 0
    return root / "a", root / "b"


def rows(md: str) -> dict[tuple[str, str], list[str]]:
    """The paired-changes table's rows by (model, metric)."""
    changes = md.split("## Paired changes")[1].split("## Rankings")[0]
    table = [line.split(" | ") for line in changes.splitlines() if line.startswith("| ") and "change" not in line]
    return {(r[0].strip("| *"), r[2].split()[0]): [c.strip("| *") for c in r] for r in table}


def test_the_diff_names_the_changed_setting_and_the_paired_changes(two_runs):
    a, b = two_runs
    assert main(["--report-only", "--out", str(b), "--diff", str(a), "-q"]) == 0
    md = (b / "diff.md").read_text()
    assert "- train.epochs: 1 → 5" in md.splitlines()
    assert not [line for line in md.split("## Paired changes")[0].splitlines()
                if line.startswith("- seeds")], "only what differs"
    table = rows(md)
    pca, dense = table[("pca", "recon_mse")], table[("dense_ae", "recon_mse")]
    assert pca[3] == pca[4] and pca[5] == "0 (identical)" and pca[6] == "", "PCA does not train: no change"
    assert float(dense[4]) < float(dense[3]) and dense[6] == "yes", "5 epochs reconstruct better"
    low, high = (float(x) for x in dense[5].split("[")[1].rstrip("]").split(","))
    assert low < float(dense[5].split()[0]) < high < 0
    assert 'id="diff"' in (b / "diff.html").read_text()


def test_runs_with_other_seeds_and_models_are_compared_over_those_they_share(two_runs, tmp_path):
    a, b = two_runs
    c = tmp_path / "c"
    shutil.copytree(b, c)
    third_model = ["dense_ae,pca,linear_ae" if x == "dense_ae,pca" else x for x in ARGS[:-5]]
    assert main(third_model + ["--seeds", "0,1", "--workers", "1", "-q", "--epochs", "5", "--out", str(c)]) == 0
    assert main(["--report-only", "--out", str(c), "--diff", str(a), "-q"]) == 0
    record = json.loads((c / "diff.json").read_text())
    assert record["seeds"] == [0, 1] and record["before"]["seeds"] == [0, 1, 2]
    ranked = [r for r in record["rankings"] if r["metric"] == "recon_mse"][0]
    assert set(ranked["ranks"]) == {"dense_ae", "pca"}, "the models both runs have"
    def leader(run):
        res = pd.read_csv(run / "results.csv")
        res = res[(res.metric == "recon_mse") & res.seed.isin([0, 1]) & res.model.isin(["dense_ae", "pca"])]
        return res.groupby("model").value.mean().idxmin()
    assert ranked["leaders"] == [leader(a), leader(c)], "the lowest mean error over the shared seeds"
    assert max(float(x) for pair in ranked["ranks"].values() for r in pair for x in re.findall(r"[\d.]+", r)) <= 2, \
        "ranked among the 2 shared models in both runs, not among the 3 of the newer run"
    assert ("linear_ae", "recon_mse") not in rows((c / "diff.md").read_text())
    results = pd.read_csv(a / "results.csv")
    dense = results[(results.model == "dense_ae") & (results.metric == "recon_mse") & results.seed.isin([0, 1])]
    assert float(rows((c / "diff.md").read_text())[("dense_ae", "recon_mse")][3]) == pytest.approx(
        dense.value.mean(), rel=1e-3), "the 3-seed run is read over seeds 0 and 1 only"


def test_a_diff_against_itself_separates_nothing(two_runs):
    a, _ = two_runs
    assert main(["--report-only", "--out", str(a), "--diff", str(a), "-q"]) == 0
    md = (a / "diff.md").read_text()
    assert "Nothing in the configuration or the environment." in md
    assert all(r[6] == "" for r in rows(md).values())


def test_a_rank_that_moves_clear_of_its_interval_is_named_and_one_inside_it_is_not():
    from types import SimpleNamespace

    import pandas as pd

    from bench.report.diff import ranking_changes, rankings_table

    def comp(rows):
        return SimpleNamespace(summary=pd.DataFrame(
            rows, columns=["model", "latent_dim", "metric", "rank", "rank_low", "rank_high", "best"]))
    before = comp([("a", 8, "m", 1, 1, 1, True), ("b", 8, "m", 2, 2, 3, False), ("c", 8, "m", 3, 2, 3, False)])
    after = comp([("a", 8, "m", 3, 3, 3, False), ("b", 8, "m", 1, 1, 1, True), ("c", 8, "m", 2, 1, 2, False)])
    spec = SimpleNamespace(verdict="job", higher_is_better=True)
    (changes,) = ranking_changes(before, after, SimpleNamespace(spec=lambda m: spec))
    assert {m["model"]: m["way"] for m in changes["moved"]} == {"a": "fell", "b": "rose"}
    (row,) = rankings_table([changes]).rows
    assert row[3:5] == ["a", "b"]
    assert row[6] == "a 1 → 3; b 2 [2-3] → 1"  # c: 3 [2-3] -> 2 [1-2] overlaps its old interval


def test_the_long_budget_findings_come_from_a_diff_and_the_checkpoint_curves(two_runs):
    from bench.tools.study_findings import long_table
    a, b = two_runs
    assert main(["--report-only", "--out", str(b), "--diff", str(a), "-q"]) == 0
    text = long_table(b)
    assert "| job | best set, 1 epochs | best set, 5 epochs |" in text and "| reconstruction (`recon_mse`) |" in text
    assert "--models dense_ae,pca --epochs 5 --seeds 0,1,2" in text
    curve = next(line for line in text.splitlines() if line.startswith("- dense_ae, epoch 4 → 5"))
    assert "`recon_mse` -" in curve and "(still improving)" in curve, "5 digits epochs are far from flat"
