"""What a run records about itself: its cost, the models' cards and the environment it ran in,
all stored in run.json so that the report needs neither the registry nor torch.

    manifest.cost = run_cost(timings, wall_seconds)
"""
from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

import torch

from bench.plugins import load_all_models
from bench.train import precision_name
from bench.tunables import describe


def peak_rss_mb(who: str = "self") -> float:
    """The peak resident memory of this process ("self") or of its finished, waited-for
    children ("children"), in MB; NaN where there is no `resource` module (Windows)."""
    try:
        import resource
        usage = resource.getrusage(resource.RUSAGE_SELF if who == "self" else resource.RUSAGE_CHILDREN)
    except (ImportError, OSError):
        return float("nan")
    return usage.ru_maxrss / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes there, KiB on Linux


def run_cost(timings: dict[str, float], wall_seconds: float, cells_peak_rss_mb: float = 0.0) -> dict:
    """What this invocation cost: wall time (up to the report), the peak resident memory of the
    largest process (this one, a child, or any process that ran cells: each cell reports its
    process's peak, since forked workers are the fork server's children and Ray's run
    elsewhere), and the share of all compute (phases summed over processes) spent evaluating."""
    eval_seconds = sum(v for k, v in timings.items() if k.startswith("eval:"))
    compute = sum(v for k, v in timings.items() if k != "report")
    peak_mb = max(peak_rss_mb("self"), peak_rss_mb("children"), cells_peak_rss_mb)
    return {"wall_seconds": wall_seconds, "peak_rss_mb": peak_mb, "eval_seconds": eval_seconds,
            "compute_seconds": compute, "eval_share": eval_seconds / compute if compute else 0.0}


def model_card(name: str) -> dict:
    """Registry metadata, stored in run.json so the report needs no registry (and no torch)."""
    entry = load_all_models().get(name)
    card = {"description": entry.description,
            **{k: v for k, v in entry.meta.items() if isinstance(v, (str, int, float, bool))}}
    knobs = entry.meta.get("tunables", {})
    return card | ({"knobs": {k: knob.default for k, knob in knobs.items()},
                    "tunables": describe(entry.meta)} if knobs else {})


def environment(device: torch.device, amp: bool) -> dict:
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for package in ("torchvision", "scikit-learn", "umap-learn"):
        try:  # from the installed metadata: importing torchvision costs ~1-2 s per process
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {"device": str(device), "precision": precision_name(device, amp), "threads": torch.get_num_threads(),
            "platform": platform.platform(), "versions": versions, "git_commit": _git_commit()}


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
