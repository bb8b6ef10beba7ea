"""Several datasets in one command (`--dataset a,b`): a run per dataset under --out, a combined
results.csv with a dataset column, an index report faceted by dataset, resume, and a dataset
whose files cannot be had."""
import json

import numpy as np
import pandas as pd
import pytest
import torchvision

from bench.data import datasets as data_module
from bench.cli import main
from tests.idx_server import serve, tiny_mnist, write_idx_gz


GRID = ["--epochs", "1", "--latent-dim", "8", "--seeds", "0,1", "--models", "dense_ae,pca",
        "--evaluators", "reconstruction,kmeans,probe", "-q"]


@pytest.fixture
def kmnist_mirror(tmp_path, monkeypatch):
    """KMNIST's real torchvision loader, fed from a loopback mirror of small IDX files."""
    arrays = tiny_mnist(120, 60, seed=3)
    resources = write_idx_gz(arrays, tmp_path / "mirror")
    entry = data_module.TORCHVISION_SETS["kmnist"]
    monkeypatch.setitem(data_module.TORCHVISION_SETS, "kmnist", (*entry[:2], (120, 60), entry[3]))
    monkeypatch.setattr(torchvision.datasets.KMNIST, "resources", resources)
    with serve(tmp_path / "mirror") as (url, _):
        monkeypatch.setattr(torchvision.datasets.KMNIST, "mirrors", [url])
        yield tmp_path / "cache"


def test_two_datasets_give_two_runs_one_table_and_an_index(tmp_path, kmnist_mirror, capsys):
    out = tmp_path / "sweep"
    argv = ["--dataset", "digits,kmnist", "--limit", "60", "--data-root", str(kmnist_mirror),
            "--out", str(out), *GRID]
    assert main(argv) == 0
    combined = pd.read_csv(out / "results.csv")
    per_dataset = [pd.read_csv(out / name / "results.csv") for name in ("digits", "kmnist")]
    pd.testing.assert_frame_equal(combined, pd.concat(per_dataset, ignore_index=True))
    assert set(combined["dataset"]) == {"digits", "kmnist"}
    for name, table in zip(("digits", "kmnist"), per_dataset):
        assert set(table["dataset"]) == {name}
        assert set(table["seed"]) == {0, 1} and set(table["model"]) == {"dense_ae", "pca"}
        assert (out / name / "report.html").exists()
    # the two datasets really differ: 8x8 digits vs 28x28 noise images
    assert json.loads((out / "kmnist" / "run.json").read_text())["data"]["input_shape"] == [1, 28, 28]
    md = (out / "report.md").read_text()
    assert "## Datasets side by side" in md
    assert "digits probe_acc ↑" in md and "kmnist probe_acc ↑" in md
    assert "### Leaderboard: digits" in md and "### Leaderboard: kmnist" in md
    pca_probe = combined.query("model == 'pca' and metric == 'probe_acc' and dataset == 'digits'")
    assert f"{pca_probe['value'].mean():.4f} ± " in md  # mean ± std over the two seeds
    html = (out / "report.html").read_text()
    assert 'class="group">kmnist<' in html and "data:image/png;base64," in html

    # the same command again trains nothing and rewrites the same table
    before = (out / "results.csv").read_bytes()
    capsys.readouterr()
    assert main(argv + ["--report-only"]) == 0
    assert (out / "results.csv").read_bytes() == before
    cells = sorted((out / "digits" / "cells").iterdir())
    stamps = [(c / "model.pt").stat().st_mtime_ns for c in cells if (c / "model.pt").exists()]
    assert main(argv) == 0
    assert [(c / "model.pt").stat().st_mtime_ns for c in cells if (c / "model.pt").exists()] == stamps
    assert (out / "results.csv").read_bytes() == before


def test_a_missing_dataset_is_reported_and_the_others_still_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    out = tmp_path / "sweep"
    code = main(["--dataset", "fashion_mnist,digits", "--data-root", str(tmp_path / "cache"),
                 "--out", str(out), *GRID])
    assert code == 1
    assert "fashion_mnist: data unavailable" in capsys.readouterr().err
    assert set(pd.read_csv(out / "results.csv")["dataset"]) == {"digits"}
    assert "fashion_mnist: no results" in (out / "report.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "digits,digits"], "--dataset names digits more than once"),
    (["--dataset", "digits,kmnst"], "Did you mean 'kmnist'"),
    (["--dataset", ","], "needs at least one dataset"),
])
def test_bad_dataset_lists_exit_2_and_write_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(argv + ["--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_sweep_and_single_runs_do_not_share_a_directory(tmp_path, capsys):
    single = tmp_path / "single"
    assert main(["--dataset", "digits", "--out", str(single), *GRID]) == 0
    assert main(["--dataset", "digits,kmnist", "--out", str(single), *GRID]) == 2
    assert "holds a one-dataset run" in capsys.readouterr().err
    sweep = tmp_path / "sweep"
    (sweep).mkdir()
    (sweep / "sweep.json").write_text(json.dumps({"datasets": ["digits"], "config": {}}))
    assert main(["--dataset", "digits", "--out", str(sweep), *GRID]) == 2
    assert "holds a sweep over several datasets" in capsys.readouterr().err


def test_toml_takes_a_dataset_list(tmp_path):
    from bench.config import read_toml

    path = tmp_path / "grid.toml"
    path.write_text('dataset = ["mnist", "fashion_mnist"]\nseeds = [0, 1, 2]\n')
    assert read_toml(path)["datasets"] == ("mnist", "fashion_mnist")
    assert np.array_equal(read_toml(path)["seeds"], (0, 1, 2))


def test_the_example_sweep_file_is_a_valid_grid():
    from pathlib import Path

    from bench.config import RunConfig, read_toml

    values = read_toml(Path(__file__).parents[1] / "bench" / "configs" / "sweep.toml")
    cfg = RunConfig.of(**values).validated()
    assert cfg.datasets == ("mnist", "kmnist") and len(cfg.seeds) * len(cfg.latent_dims) == 6
