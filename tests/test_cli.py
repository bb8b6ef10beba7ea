"""End to end on the offline `digits` dataset through the real CLI entry point."""
import json

import pandas as pd
import pytest
import torch

from bench.cli import main
from bench.model_api import Autoencoder


FAST = ["--dataset", "digits", "--epochs", "2", "--latent-dim", "8", "-q"]
NO_UMAP = ["--evaluators", "reconstruction,kmeans,probe"]


def test_list_shows_models_and_evaluators(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in ["dense_ae", "conv_ae", "denoising_ae", "vae", "pca", "raw", "kmeans", "probe", "umap"]:
        assert name in out


@pytest.mark.parametrize("argv, message", [
    (["--models", "conv_aa"], "did you mean 'conv_ae'"),
    (["--evaluators", "kmean"], "did you mean 'kmeans'"),
    (["--dataset", "mnits"], "did you mean 'mnist'"),
    (["--epochs", "0"], "--epochs must be a positive integer"),
    (["--batch-size", "-5"], "--batch-size must be a positive integer"),
    (["--latent-dim", "0"], "--latent-dim must be a positive integer"),
    (["--dataset", "digits", "--latent-dim", "65"], "larger than the input"),
    (["--dataset", "digits", "--limit", "100000"], "larger than digits"),
    (["--device", "tpu"], "--device must be"),
    (["--models", ""], "--models needs at least one"),
    (["--models", " , "], "--models needs at least one"),
    (["--evaluators", ""], "--evaluators needs at least one"),
    pytest.param(["--device", "cuda", "--dataset", "digits"], "CUDA is not available",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
    pytest.param(["--device", "cuda", "--dataset", "digits,kmnist"], "CUDA is not available",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
])
def test_bad_input_exits_2_with_a_clear_message(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(argv + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message.lower() in err.lower()
    assert err.startswith("error: ") and err.count("\n") == 1, "one error line"
    assert not out.exists(), "bad usage must write nothing"


def test_non_integer_argument_is_usage_error(capsys):
    assert main(["--epochs", "many"]) == 2
    assert capsys.readouterr().err == "error: argument --epochs: expected an integer, got 'many' (see --help)\n"


class Diverging(Autoencoder):
    """Registered by the test: its loss is NaN from the first batch."""

    def __init__(self, input_shape, latent_dim):
        super().__init__(input_shape, latent_dim)
        self.lin = torch.nn.Linear(64, latent_dim)

    def encode(self, x):
        return self.lin(x.flatten(1))

    def loss(self, x):
        return {"loss": self.encode(x).sum() * float("nan")}


def test_a_failing_cell_is_reported_and_the_others_finish(tmp_path, scratch_registry, capsys):
    scratch_registry("nan_ae", Diverging, description="diverges <script>alert(1)</script>")
    out = tmp_path / "run"
    code = main(FAST + NO_UMAP + ["--models", "nan_ae,pca", "--out", str(out)])
    assert code == 1
    assert "nan_ae" in capsys.readouterr().err
    results = pd.read_csv(out / "results.csv")
    assert set(results["model"]) == {"pca"}
    (error,) = out.glob("cells/nan_ae-*/error.txt")
    assert "diverged in epoch 1" in error.read_text()
    md, html = (out / "report.md").read_text(), (out / "report.html").read_text()
    assert "diverged in epoch 1" in md and "diverged in epoch 1" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["models"]["nan_ae"]["description"].startswith("diverges")


def test_report_only_on_a_missing_directory_is_a_clear_error(tmp_path, capsys):
    assert main(["--report-only", "--out", str(tmp_path / "nothing")]) == 1
    assert "not an aebench results directory" in capsys.readouterr().err


def test_latent_size_grid_is_plotted(tmp_path):
    out = tmp_path / "grid"
    assert main(["--dataset", "digits", "--epochs", "2", "--latent-dim", "4,8", "--models", "dense_ae,pca",
                 "--evaluators", "reconstruction,kmeans,probe", "--out", str(out), "-q"]) == 0
    results = pd.read_csv(out / "results.csv")
    assert sorted(results["latent_dim"].unique()) == [4, 8]
    assert (out / "figures" / "latent_sizes.png").stat().st_size > 5_000
    md = (out / "report.md").read_text()
    assert "(figures/latent_sizes.png)" in md
    board = md.split("## Leaderboard", 1)[1].split("###", 1)[0]
    assert board.count("| dense_ae |") == 2, "one leaderboard row per model and latent size"


def assert_intervals(out, metrics: list[str], n_seeds: int):
    """Each value in results.csv within its interval, summary.csv counting the seeds, the HTML
    showing each interval under its value."""
    results = pd.read_csv(out / "results.csv")
    assert {"ci_low", "ci_high", "n_images"} <= set(results.columns)
    with_ci = results.dropna(subset=["ci_low"])
    assert set(with_ci["metric"]) >= set(metrics)
    assert ((with_ci["ci_low"] <= with_ci["value"] + 1e-6) & (with_ci["value"] <= with_ci["ci_high"] + 1e-6)).all()
    summary = pd.read_csv(out / "summary.csv")
    assert (summary.loc[summary["metric"] == "recon_mse", "n_seeds"] == n_seeds).all()
    assert "<small class=\"ci\">[" in (out / "report.html").read_text()


def test_two_seeds_give_seed_intervals_and_two_workers_the_same_results(tmp_path):
    # float32: dense models then give the same numbers with any threads per cell (README
    # --workers); bfloat16 products sum in an order that depends on the thread count
    common = ["--dataset", "digits", "--epochs", "2", "--latent-dim", "8", "--seeds", "0,1",
              "--models", "dense_ae,vae,pca", "--evaluators", "reconstruction,kmeans,probe",
              "--precision", "float32", "-q"]
    assert main(common + ["--out", str(tmp_path / "one")]) == 0
    assert main(common + ["--workers", "2", "--out", str(tmp_path / "two")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "one" / "results.csv"),
                                  pd.read_csv(tmp_path / "two" / "results.csv"))
    assert set(pd.read_csv(tmp_path / "two" / "results.csv")["seed"]) == {0, 1}
    assert_intervals(tmp_path / "two", ["recon_mse", "probe_acc", "kmeans_acc"], n_seeds=2)
    assert "Intervals combine the 2 training seeds (Student's t on 1 degree of freedom)" in (
        tmp_path / "two" / "report.md").read_text()


def test_one_class_anomaly_is_opt_in_and_reported(tmp_path):
    from bench.run.runner import evaluator_names

    assert "anomaly_oneclass" not in evaluator_names(("default",))
    assert evaluator_names(("default", "anomaly_oneclass")) == sorted(
        evaluator_names(("default",)) + ["anomaly_oneclass"]), "opt in on top of the default set"
    out = tmp_path / "oneclass"
    # beside the other evaluator of its report section (anomaly detection); the rest of the
    # default set is the all-models run's
    assert main(["--dataset", "digits", "--epochs", "1", "--latent-dim", "8", "--models", "dense_ae,pca",
                 "--evaluators", "reconstruction,anomaly_ood,anomaly_oneclass", "--out", str(out), "-q"]) == 0
    results = pd.read_csv(out / "results.csv")
    per_class = results[results["metric"].str.fullmatch(r"anomaly_auroc_\d")]
    assert sorted(per_class["metric"].unique()) == [f"anomaly_auroc_{d}" for d in range(10)]
    assert per_class["value"].between(0, 1).all()
    means = results[results["metric"] == "anomaly_auroc_mean"].set_index("model")["value"]
    for model, mean in means.items():
        assert mean == pytest.approx(per_class[per_class["model"] == model]["value"].mean())
    assert means["pca"] > 0.8, "PCA fitted on one digit separates it from the others"
    assert (out / "figures" / "oneclass.png").exists()


def test_the_run_records_its_wall_time_peak_memory_and_evaluation_share(tmp_path):
    out = tmp_path / "cost"
    assert main(["--dataset", "digits", "--epochs", "1", "--latent-dim", "8", "--models", "dense_ae,pca",
                 "--evaluators", "reconstruction,kmeans", "--workers", "2", "--out", str(out), "-q"]) == 0
    manifest = json.loads((out / "run.json").read_text())
    cost, timings = manifest["cost"], manifest["timings"]
    evaluation = timings["eval:kmeans"] + timings["eval:reconstruction"]
    assert cost["eval_seconds"] == pytest.approx(evaluation)
    assert cost["eval_share"] == pytest.approx(evaluation / sum(v for k, v in timings.items() if k != "report"))
    assert 0 < cost["eval_share"] < 1 and cost["wall_seconds"] > 0
    assert 100 < cost["peak_rss_mb"] < 24 * 1024  # torch alone needs more than 100 MB
    assert f"peak memory {cost['peak_rss_mb'] / 1024:.2f} GB" in (out / "report.md").read_text()


HUNGRY_PLUGIN = """
import numpy as np

from bench.model_api import build_model, register_model

HELD = []  # kept for the life of the process that builds the model


@register_model("hungry_ae", description="linear_ae holding 3 GiB in the process that trains it")
def hungry_ae(input_shape, latent_dim):
    HELD.append(np.ones(3 * 1024 ** 3 // 8))  # 3 GiB, written, so resident
    return build_model("linear_ae", input_shape, latent_dim)
"""


def test_peak_memory_counts_the_worker_processes(tmp_path):
    """The model holds 3 GiB in the worker that trains it, never in the run's own process: the
    recorded peak must still see it (a forked worker is the fork server's child, not the run's)."""
    plugin = tmp_path / "hungry.py"
    plugin.write_text(HUNGRY_PLUGIN)
    out = tmp_path / "hungry"
    assert main(["--plugin", str(plugin), "--dataset", "digits", "--epochs", "1", "--latent-dim", "4",
                 "--limit", "200", "--models", "hungry_ae,pca", "--evaluators", "reconstruction",
                 "--workers", "2", "--out", str(out), "-q"]) == 0
    from bench.run.provenance import peak_rss_mb
    assert peak_rss_mb("self") < 3072, "the run's own process never held the 3 GiB"
    assert json.loads((out / "run.json").read_text())["cost"]["peak_rss_mb"] > 3072


def test_report_only_and_the_sweep_index_import_no_torch(tmp_path):
    """The report is rebuilt from the results directory alone: a fresh interpreter that rebuilds
    a run's report and a sweep's index never imports torch (nor the models or evaluators)."""
    import subprocess
    import sys

    run, sweep = tmp_path / "run", tmp_path / "sweep"
    small = ["--epochs", "1", "--latent-dim", "4", "--models", "dense_ae,pca", "--limit", "200",
             "--evaluators", "reconstruction,kmeans,probe", "-q"]
    assert main(["--dataset", "digits", "--out", str(run), *small]) == 0
    code = ("import sys; from bench.cli import main\n"
            "for out in sys.argv[1:]:\n"
            "    assert main(['--report-only', '--out', out, '-q']) == 0\n"
            "leaked = [m for m in sys.modules if m.split('.')[0] in ('torch', 'models', 'torchvision')"
            " or m.startswith('bench.evaluators') or m in ('bench.model_api', 'bench.plugins')]\n"
            "assert not leaked, leaked\n")
    before = (run / "report.md").read_text()
    (sweep / "digits").mkdir(parents=True)  # a sweep's index too
    import shutil
    shutil.copytree(run, sweep / "digits", dirs_exist_ok=True)
    (sweep / "sweep.json").write_text(json.dumps({"datasets": ["digits", "kmnist"], "config": json.loads(
        (run / "run.json").read_text())["config"]}))
    proc = subprocess.run([sys.executable, "-c", code, str(run), str(sweep)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (run / "report.md").read_text() == before
    assert "digits" in (sweep / "report.md").read_text()

    # rerunning the finished run (what every resumed run pays at start) skips the heavy imports
    # nothing needs: torchvision (~1-2 s, for its version string) and triton (FLOP counting)
    code = ("import sys; from bench.cli import main\n"
            f"assert main(['--dataset', 'digits', '--out', sys.argv[1], *{small!r}]) == 0\n"
            "leaked = [m for m in sys.modules if m.split('.')[0] in ('torchvision', 'triton')]\n"
            "assert not leaked, leaked\n")
    proc = subprocess.run([sys.executable, "-c", code, str(run)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr



def test_the_latent_size_figure_draws_the_reports_intervals():
    from bench.report.figures import metric_vs_latent

    summary = pd.DataFrame({"model": ["a", "a"], "latent_dim": [4, 8], "metric": ["m", "m"],
                            "mean": [0.5, 0.6], "ci_low": [0.49, 0.59], "ci_high": [0.51, 0.61],
                            "higher_is_better": [True, True]})
    narrow = metric_vs_latent(summary, ["a"], ["m"])
    wide = metric_vs_latent(summary.assign(ci_low=[0.3, 0.4], ci_high=[0.7, 0.8]), ["a"], ["m"])
    assert narrow is not None and narrow != wide
