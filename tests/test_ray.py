"""The Ray executor on a local Ray instance (127.0.0.1): the same grid gives the same
results.csv as the local executor, a sweep resumes without redoing finished cells, and a
missing Ray is a clear usage error."""
import shutil
import sys

import pandas as pd
import pytest

from bench.cli import config_from_args, main, parser
from bench.runner import run

GRID = ["--dataset", "digits", "--limit", "250", "--epochs", "1", "--models", "dense_ae,pca",
        "--seeds", "0,1,2", "--latent-dim", "4,8", "--evaluators", "reconstruction,kmeans,probe", "-q"]
N_CELLS = 2 * 3 * 2


def sorted_results(out):
    return pd.read_csv(out / "results.csv").sort_values(
        ["model", "latent_dim", "seed", "metric"]).reset_index(drop=True)


def test_ray_sweep_matches_local_and_resumes(tmp_path):
    pytest.importorskip("ray")
    assert main(GRID + ["--workers", "1", "--out", str(tmp_path / "local")]) == 0
    ray_out = tmp_path / "ray"
    argv = GRID + ["--executor", "ray", "--out", str(ray_out)]
    outcome = run(config_from_args(parser().parse_args(argv)))
    assert (outcome.exit_code, outcome.trained, outcome.n_cells) == (0, N_CELLS, N_CELLS)
    pd.testing.assert_frame_equal(sorted_results(ray_out), sorted_results(tmp_path / "local"))

    # a sweep that stopped early: two cells lost; the rerun trains exactly those two again
    lost = sorted((ray_out / "cells").iterdir())[:2]
    for cell in lost:
        shutil.rmtree(cell)
    again = run(config_from_args(parser().parse_args(argv)))
    assert (again.exit_code, again.trained) == (0, 2)
    pd.testing.assert_frame_equal(sorted_results(ray_out), sorted_results(tmp_path / "local"))


def test_missing_ray_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    out = tmp_path / "out"
    assert main(GRID + ["--executor", "ray", "--out", str(out)]) == 2
    assert "pip install -e .[ray]" in capsys.readouterr().err
    assert not out.exists()


def test_ray_address_without_the_ray_executor_is_refused(tmp_path, capsys):
    assert main(GRID + ["--ray-address", "127.0.0.1:6379", "--out", str(tmp_path / "x")]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
