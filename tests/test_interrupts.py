"""Kill a real run with SIGKILL at several points, restart it, and lose nothing: finished cells
are not recomputed and the final results equal an uninterrupted run's. Also SIGINT -> 130."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests import warm_runs


ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--dataset", "digits", "--epochs", "2", "--latent-dim", "8", "--seeds", "0,1",
        "--models", "dense_ae,vae,pca", "--evaluators", "reconstruction,kmeans,probe", "-q"]
N_CELLS = 6


def start(out: Path) -> warm_runs.WarmRun:
    """`python run_all.py ARGS --out OUT`, with SIGINT handled as in a foreground terminal."""
    return warm_runs.start([*ARGS, "--out", str(out)], {**os.environ, "AEBENCH_QUIET": "1"})


def finished_cells(out: Path) -> dict[str, int]:
    """Cells whose training is finished, with their weights' modification times."""
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("cells/*/model.pt")
            if (p.parent / "train.json").exists()}


def kill_when(proc, condition, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.005)
    proc.wait()
    return False


def assert_no_partial_files(out: Path):
    """A killed writer leaves at most a hidden .tmp file, never a truncated real one."""
    for path in out.rglob("*.json"):
        if not path.name.startswith("."):
            json.loads(path.read_text())  # raises on a half-written file


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    proc = start(out)
    assert proc.wait(timeout=300) == 0, proc.stderr
    return pd.read_csv(out / "results.csv")


def training(out: Path) -> bool:
    """A cell has started (config.json) but not finished training, after another finished."""
    started = [p.parent for p in out.glob("cells/*/config.json")]
    return len(finished_cells(out)) >= 1 and any(not (c / "train.json").exists() for c in started)


def evaluating(out: Path) -> bool:
    """A cell has its first evaluation but not its last (kmeans, probe, reconstruction)."""
    return any(not (p.parent / "eval_reconstruction.json").exists()
               for p in out.glob("cells/*/eval_kmeans.json"))


@pytest.mark.parametrize("point", ["training", "evaluation", "report-writing"])
def test_sigkill_then_resume_loses_nothing(tmp_path, reference, point):
    out = tmp_path / "run"
    conditions = {
        "training": lambda: training(out),
        "evaluation": lambda: len(finished_cells(out)) >= 2 and evaluating(out),
        "report-writing": lambda: (out / "results.csv").exists(),
    }
    killed = kill_when(start(out), conditions[point])
    assert killed, f"the run ended before reaching {point}"
    assert_no_partial_files(out)
    before = finished_cells(out)
    proc = start(out)
    assert proc.wait(timeout=300) == 0, proc.stderr
    after = finished_cells(out)
    assert len(after) == N_CELLS
    recomputed = [c for c, mtime in before.items() if after[c] != mtime]
    assert recomputed == [], f"finished cells were trained again: {recomputed}"
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), reference)
    assert (out / "report.html").read_text().rstrip().endswith("</html>")


def test_same_seed_same_results_twice(tmp_path, reference):
    out = tmp_path / "again"
    proc = start(out)
    assert proc.wait(timeout=300) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), reference)


def test_sigint_stops_with_130_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    proc = start(out)
    deadline = time.monotonic() + 120
    while not list(out.glob("cells/*/config.json")) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert "run the same command again to resume" in proc.stderr


def children_of(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found |= {int(c) for c in text.split()}
    return found


def pool_workers(pid: int) -> set[int]:
    """The run's worker processes: spawned by the run, or forked by the run's fork server."""
    found = set()
    for child in children_of(pid):
        if "spawn_main" in cmdline(child):
            found.add(child)
        elif "forkserver" in cmdline(child):
            found |= children_of(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="ignore")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_sigkill_of_a_parallel_run_leaves_no_orphan_workers(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "AEBENCH_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_all.py"), *ARGS, "--workers", "2",
                             "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 2 and proc.poll() is None:
        workers = pool_workers(proc.pid)
        time.sleep(0.05)
    assert len(workers) == 2, "the pool's two workers should have started"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(alive(p) for p in workers), "workers outlived their killed parent"
