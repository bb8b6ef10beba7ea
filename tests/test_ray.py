"""The Ray executor on a local Ray instance (127.0.0.1): a sweep killed mid-run resumes without
redoing finished cells and ends with the results.csv of the local executor, and a missing Ray is
a clear usage error.

One Ray sweep, not two: an uninterrupted sweep compared with the local results (a test of its
own before) would start Ray once more to check what the resumed sweep's last step already
checks: every cell trained by Ray tasks, the same results.csv."""
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from bench.cli import main


# long enough per cell (10 epochs, ~1 s) that a run can be killed between its first and last cell
GRID = ["--dataset", "digits", "--epochs", "10", "--models", "dense_ae,vae,pca", "--seeds", "0",
        "--latent-dim", "4,8", "--evaluators", "reconstruction,kmeans,probe", "-q"]
N_CELLS = 3 * 2


def sorted_results(out):
    return pd.read_csv(out / "results.csv").sort_values(
        ["model", "latent_dim", "seed", "metric"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def local_results(tmp_path_factory):
    """The grid run by the local executor, serially, in this process with all its threads and
    the default precision (mixed on a CPU with native bfloat16, whose sums depend on the thread
    count): every Ray run must reproduce it, because every cell trains with `TrainSpec.threads`."""
    out = tmp_path_factory.mktemp("local") / "local"
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # a Ray task has one: the cells must not care
    try:
        assert main(GRID + ["--workers", "1", "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)
    return sorted_results(out)


def evaluated_cells(out: Path) -> dict[str, int]:
    """Cells with their last evaluator written (evaluators run in name order), with the
    modification time of their weights."""
    return {p.parent.name: (p.parent / "model.pt").stat().st_mtime_ns
            for p in out.glob("cells/*/eval_reconstruction.json") if (p.parent / "model.pt").exists()}


def test_ray_sweep_killed_mid_run_resumes_to_the_local_results(tmp_path, local_results):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    command = [sys.executable, str(Path(__file__).parents[1] / "run_all.py"), *GRID,
               "--executor", "ray", "--out", str(out)]
    # its own session, so that whatever Ray leaves behind can be cleaned up by process group
    driver = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and driver.poll() is None and len(evaluated_cells(out)) < 2:
        time.sleep(0.05)  # the window is a cell or more (~1 s): no need to spin on a busy core
    assert driver.poll() is None, "the sweep ended before it could be interrupted"
    driver.kill()  # SIGKILL to the driver: no clean-up code of ours or Ray's runs
    driver.wait()
    with contextlib.suppress(ProcessLookupError):  # Ray's agents outlive a killed raylet (ray#39092)
        os.killpg(driver.pid, signal.SIGKILL)
    before = evaluated_cells(out)
    assert 2 <= len(before) < N_CELLS, before

    resumed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    after = evaluated_cells(out)
    assert len(after) == N_CELLS
    assert {c: after[c] for c in before} == before, "finished cells were trained again"
    pd.testing.assert_frame_equal(sorted_results(out), local_results)


def test_missing_ray_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    out = tmp_path / "out"
    assert main(GRID + ["--executor", "ray", "--out", str(out)]) == 2
    assert "pip install -e .[ray]" in capsys.readouterr().err
    assert not out.exists()


def test_ray_address_without_the_ray_executor_is_refused(tmp_path, capsys):
    assert main(GRID + ["--ray-address", "127.0.0.1:6379", "--out", str(tmp_path / "x")]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err


def test_a_worker_kept_for_the_next_phase_evaluates_that_phase_set(tmp_path):
    """One Ray session serves tuning's trials (one evaluator) and then the grid (all of them):
    a worker that ran a trial must not evaluate a grid cell with the trial's evaluator set."""
    from bench.config import RunConfig
    from bench.run.ray_executor import _cell_task
    from bench.run.shared_inputs import SharedInputs
    from bench.store.cell import CellStore

    cfg = RunConfig.of(models=("pca",), datasets=("digits",), latent_dims=(4,)).validated()
    trial, cell = cfg.cell("pca", 0, 4, trial=True), cfg.cell("pca", 0, 4)
    threads = torch.get_num_threads()
    try:
        _cell_task(cfg, str(tmp_path), trial.to_dict(), ["reconstruction"], SharedInputs(), [])
        _cell_task(cfg, str(tmp_path), cell.to_dict(), ["reconstruction", "knn"], SharedInputs(), [])
    finally:
        torch.set_num_threads(threads)
    assert {r["evaluator"] for r in CellStore(tmp_path, cell).evals()} == {"reconstruction", "knn"}
    assert {r["evaluator"] for r in CellStore(tmp_path, trial).evals()} == {"reconstruction"}
