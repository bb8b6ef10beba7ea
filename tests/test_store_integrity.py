"""A finished results directory repairs itself (issue #18): truncate, delete or garble any one
file, run the same command again, and the run exits 0 with the untouched run's results.csv,
recomputing only the damaged part (and the weights only when something needs them)."""
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import config_from_args, parser
from bench.run.runner import run


ARGS = ["--dataset", "digits", "--models", "dense_ae,pca", "--evaluators",
        "reconstruction,kmeans,probe,generation", "--epochs", "1", "--latent-dim", "4",
        "--limit", "250", "--workers", "1", "-q"]
DAMAGES = ("truncate", "delete", "garble")


def run_into(out: Path, data_root: Path):
    return run(config_from_args(parser().parse_args(ARGS + ["--out", str(out), "--data-root", str(data_root)])), out)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    out = root / "base"
    assert run_into(out, root / "data").exit_code == 0
    return out, root / "data"


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "delete":
        path.unlink()
    else:  # garble: overwrite a stretch in the middle with other bytes
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 16]) + data[middle + 16:])


def expected_work(name: str, how: str) -> tuple[int, int]:
    """(cells trained, evaluations run) that repairing this file should take."""
    if name in ("train.json", "checkpoints.json"):
        return 1, 0                          # retrained (the curves exist only while training);
                                             # the evaluations stand
    for evaluator in ("reconstruction", "kmeans", "probe", "generation"):
        if name in (f"eval_{evaluator}.json", f"art_{evaluator}.npz", f"outcomes_{evaluator}.npz"):
            return 0, 1                      # that evaluation alone
    return 0, 0                              # weights, codes, config, report files: nothing needed


def cases(out: Path):
    cell = next(out.glob("cells/dense_ae-*"))
    files = sorted(p for p in cell.iterdir() if p.is_file())
    files += [out / "run.json", out / "results.csv", out / "report.md", out / "figures" / "metrics.png"]
    files += sorted((out / "figures" / ".drawn").glob("*.png"))[:1]  # a figure drawn before
    files += sorted((out / "judge").glob("*/*"))
    rng = np.random.default_rng(0)  # each file gets one damage, the kinds spread evenly
    kinds = np.resize(rng.permutation(DAMAGES), len(files))
    return [(f.relative_to(out), str(k)) for f, k in zip(files, kinds)]


def test_any_damaged_file_is_repaired_with_only_its_part_recomputed(finished, tmp_path):
    base, data_root = finished
    expected = pd.read_csv(base / "results.csv")
    tried = cases(base)
    assert len(tried) >= 20 and {k for _, k in tried} == set(DAMAGES)
    for relative, how in tried:
        out = tmp_path / f"{relative.name}-{how}"
        shutil.copytree(base, out)
        damage(out / relative, how)
        outcome = run_into(out, data_root)
        where = f"{how} {relative}"
        assert outcome.exit_code == 0, where
        assert (outcome.trained, outcome.evaluated) == expected_work(relative.name, how), where
        pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), expected, obj=where)
        if expected_work(relative.name, how) != (0, 0) and how != "delete":
            assert list(out.glob(f"cells/*/damaged/{relative.name}*")), f"{where}: kept aside"
            assert outcome.repairs and relative.name in " ".join(outcome.repairs), where


def test_damaged_weights_are_retrained_when_an_evaluation_needs_them(finished, tmp_path):
    base, data_root = finished
    out = tmp_path / "weights"
    shutil.copytree(base, out)
    cell = next(out.glob("cells/dense_ae-*"))
    damage(cell / "model.pt", "truncate")
    (cell / "eval_kmeans.json").unlink()  # now something needs the weights
    outcome = run_into(out, data_root)
    assert outcome.exit_code == 0 and (outcome.trained, outcome.evaluated) == (1, 1)
    assert (cell / "damaged" / "model.pt").exists()
    assert "model.pt does not match its SHA-256" in (out / "report.md").read_text()
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), pd.read_csv(base / "results.csv"))


def test_two_simultaneous_runs_on_one_out_train_each_cell_once(tmp_path):
    """Two real processes started together on the same --out: every cell is computed by one of
    them (the other waits on its lock), both exit 0 with the same results."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "shared"
    argv = [sys.executable, str(root / "run_all.py"), "--dataset", "digits", "--models",
            "dense_ae,vae,linear_ae,pca", "--evaluators", "reconstruction,kmeans", "--epochs", "3",
            "--latent-dim", "4", "--workers", "1", "--out", str(out), "--data-root", str(tmp_path / "data")]
    env = {k: v for k, v in os.environ.items() if k != "AEBENCH_QUIET"}
    procs = [subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for _ in range(2)]
    logs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    trained = sum(log.count(": trained in ") for log in logs)
    reused = sum(log.count(": trained earlier") for log in logs)
    assert (trained, reused) == (4, 4), logs  # each of the 4 cells trained by exactly one run
    assert not list(out.glob("cells/*/lock"))
    assert len(pd.read_csv(out / "results.csv")) == 4 * 6  # 2 reconstruction + 4 k-means metrics each


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    from bench.config import RunConfig
    from bench.store.cell import CellStore

    cell = CellStore(tmp_path, RunConfig().cell("pca", 0, 4))
    cell.dir.mkdir(parents=True)
    import socket
    import subprocess
    import sys
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a pid that has exited
    (cell.dir / "lock").write_text(f"{socket.gethostname()} {gone}")
    with cell.lock(poll=0.01) as waited:
        assert not waited and (cell.dir / "lock").read_text().endswith(str(__import__("os").getpid()))
    assert not (cell.dir / "lock").exists()


def test_a_retried_cell_forgets_its_earlier_failure(tmp_path):
    """A cell that failed and then ran again keeps no error record: a published reference
    refused the 5-seed run's cells for the stale error.json of a retried evaluation."""
    from bench.config import RunConfig
    from bench.store.cell import CellStore
    cell = CellStore(tmp_path, RunConfig().cell("dense_ae", 0, 8))
    cell.fail("evaluate:kmeans", "ValueError: boom")
    assert cell.failed and cell.error()["phase"] == "evaluate:kmeans"
    cell.begin()
    assert not cell.failed and cell.error() is None
