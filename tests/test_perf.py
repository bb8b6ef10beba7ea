"""The speed benchmark runs and reports consistent ratios (no timing thresholds: speed lives in
the benchmark's output, not in assertions)."""
import json

import pytest

from bench.tools.perf import main


def test_perf_benchmark_writes_consistent_ratios(tmp_path, capsys):
    path = tmp_path / "perf.json"
    assert main(["--dataset", "digits", "--images", "256", "--batch-size", "64",
                 "--models", "dense_ae,vae,sparse_ae,pca", "--repeats", "2", "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    rows = {r["model"]: r for r in result["models"]}
    assert set(rows) == {"dense_ae", "vae", "sparse_ae"}  # baselines are not trained
    row = rows["dense_ae"]
    assert row["speedup_vs_tutorial"] == pytest.approx(row["images_per_s"] / row["tutorial_images_per_s"])
    assert row["fraction_of_matmul_peak"] > 0
    assert result["repeats"] == 2 and all(len(v) == 2 for v in row["samples"].values())
    assert row["images_per_s"] == pytest.approx(sorted(row["samples"]["ours"])[0] / 2
                                                + sorted(row["samples"]["ours"])[1] / 2)
    assert row["amp_speedup"] == pytest.approx(row["amp_images_per_s"] / row["images_per_s"])
    # pythae's trainer ran the same networks where pythae has the model; sparse_ae it has not
    assert result["pythae"] == "pythae 0.1.2"
    for name in ("dense_ae", "vae"):
        assert rows[name]["pythae_images_per_s"] > 0
        assert rows[name]["speedup_vs_pythae"] == pytest.approx(
            rows[name]["images_per_s"] / rows[name]["pythae_images_per_s"])
    assert rows["sparse_ae"]["pythae_images_per_s"] != rows["sparse_ae"]["pythae_images_per_s"]  # NaN
    out = capsys.readouterr().out
    assert "dense_ae" in out and "pythae" in out and "--amp" in out


def test_scaling_runs_real_grids_and_draws_the_figure(tmp_path):
    from bench.tools import scaling

    assert scaling.main(["--dataset", "digits", "--sizes", "100,200", "--model-counts", "1,2",
                         "--epochs", "1", "--evaluators", "reconstruction", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "scaling.json").read_text())
    assert [r["images"] for r in result["by_size"]] == [100, 200]
    assert [r["models"] for r in result["by_count"]] == [1, 2]
    assert all(r["wall_s"] >= r["train_s"] > 0 for r in result["by_size"] + result["by_count"])
    assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_umap_epochs_study_reproduces_the_evaluator_at_its_own_epochs(tmp_path, capsys):
    """The study re-scores a finished run's codes at other epoch counts; at the evaluator's own
    (`N_EPOCHS`) it must give the run's `umap_cluster_acc`, or it measures something else."""
    import pandas as pd

    from bench.cli import main as run_all
    from bench.evaluators.umap_embed import N_EPOCHS
    from bench.tools import umap_epochs

    out = tmp_path / "run"
    assert run_all(["--dataset", "digits", "--models", "pca", "--latent-dim", "8", "--limit", "200",
                    "--evaluators", "umap_cluster", "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    assert umap_epochs.main([str(out), "--models", "pca", "--epochs", f"{N_EPOCHS},20"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [int(r[1]) for r in rows] == [N_EPOCHS, 20]
    results = pd.read_csv(out / "results.csv")
    expected = results.loc[results["metric"] == "umap_cluster_acc", "value"].item()
    assert float(rows[0][2]) == round(expected, 3)
    assert 0 <= float(rows[1][2]) <= 1


def test_precision_ab_takes_turns_and_prints_median_ratios(monkeypatch, capsys):
    from bench.tools import precision_ab

    calls = []

    def fake_run(precision, out, run_args):  # float32 runs ~2x as long as mixed ones
        calls.append(precision)
        k = len(calls)
        return (100.0 + k, {"conv_ae": 50.0 + k}) if precision == "float32" else (50.0 + k, {"conv_ae": 25.0 + k})

    monkeypatch.setattr(precision_ab, "one_run", fake_run)
    assert precision_ab.main(["--rounds", "3"]) == 0
    assert calls == ["float32", "mixed"] * 3
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert "conv_ae 53.0 29.0 1.83x" in lines  # medians of 51/53/55 and 27/29/31
    assert "wall 103.0 54.0 1.91x" in lines
