"""The script that trained the judges aebench ships (bench/judges/<dataset>-v<N>/), and checks
that retraining reproduces them.

Training is the runner's own (`bench.judge.train_judge`: seed 0, the full training split) on one
CPU thread, so a rerun sums in the same order. `--check` retrains in a temporary folder and
compares it with the shipped judge. Equal weights (values, not file bytes) are the strong
answer, but only where torch's CPU kernels round as on the machine that shipped it (judges
shipped after mnist-v1 record those kernels in judge.json): elsewhere the weights drift apart.
So the check also asks what a different machine can promise: is the retrained judge as accurate
on the test set as the shipped one? McNemar's exact test on the images exactly one of them
gets right; at p >= 0.05 the two are a tie, and the check passes (`--exact`: weights only).

    python -m bench.tools.ship_judge mnist                    # -> bench/judges/mnist-v1/, prints the pin
    python -m bench.tools.ship_judge mnist --check [--exact]  # exit 0: reproduced (see above)
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from scipy.stats import binomtest

from bench import atomic
from bench.data.datasets import ImageData, load_dataset, to_float
from bench.judge import load_judge, train_judge
from bench.store.judges import SHIPPED, SHIPPED_ROOT, shipped_damage


TIE_LEVEL = 0.05  # McNemar p-value at or above which two judges' accuracies are a tie


def train_shipped(data: ImageData, folder: Path) -> dict:
    """Train the judge for `data` into `folder`; its judge.json records how and where."""
    torch.set_num_threads(1)
    train_judge(folder, data, torch.device("cpu"))
    info = json.loads((folder / "judge.json").read_text())
    info["shipped"] = folder.name
    info["trained_with"] = f"python -m bench.tools.ship_judge {data.name}"
    info["commit"] = _commit()
    info["torch"] = torch.__version__
    info["cpu"] = cpu_kernels()
    atomic.write_json(folder / "judge.json", info)
    return info


def cpu_kernels() -> dict:
    """What decides how torch's CPU kernels round: the machine and the instruction set used."""
    return {"machine": platform.machine(), "capability": torch.backends.cpu.get_cpu_capability(),
            "processor": _cpu_model()}


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                platform.processor())


def accuracy_tie(y: np.ndarray, first: np.ndarray, second: np.ndarray) -> dict:
    """Two classifiers' predictions on the same labelled images: their accuracies, how often
    they agree, and McNemar's exact test (two-sided) on the images exactly one gets right."""
    right_1, right_2 = first == y, second == y
    only_1, only_2 = int((right_1 & ~right_2).sum()), int((right_2 & ~right_1).sum())
    p = binomtest(only_1, only_1 + only_2).pvalue if only_1 + only_2 else 1.0
    return {"accuracy": (float(right_1.mean()), float(right_2.mean())),
            "agreement": float((first == second).mean()), "only_right": (only_1, only_2),
            "p_value": float(p), "tie": p >= TIE_LEVEL}


def predicted_labels(folder: Path, x_test: torch.Tensor) -> np.ndarray:
    judge, _ = load_judge(folder)
    return judge.probs(x_test).argmax(1)


def check(data: ImageData, shipped: Path, exact: bool) -> tuple[bool, str]:
    """Retrain the shipped judge in a temporary folder: (reproduced?, what was found)."""
    with tempfile.TemporaryDirectory() as tmp:
        retrained = Path(tmp) / shipped.name
        info = train_shipped(data, retrained)
        if weights_equal(retrained, shipped):
            return True, f"retrained: weights equal to {shipped} (test accuracy {info['test_accuracy']:.4f})"
        x_test = to_float(data.x_test, torch.device("cpu"))
        tie = accuracy_tie(data.y_test, predicted_labels(shipped, x_test), predicted_labels(retrained, x_test))
    recorded = json.loads((shipped / "judge.json").read_text()).get("cpu", "not recorded")
    (shipped_acc, retrained_acc), (only_shipped, only_retrained) = tie["accuracy"], tie["only_right"]
    verdict = "a tie" if tie["tie"] else "DIFFERENT"
    text = (f"retrained: weights differ from {shipped} (its CPU kernels: {recorded}; this machine: "
            f"{cpu_kernels()})\ntest accuracy {retrained_acc:.4f} against the shipped {shipped_acc:.4f}; "
            f"the two agree on {tie['agreement']:.2%} of test images; right where the other is wrong: "
            f"shipped {only_shipped}, retrained {only_retrained}; McNemar exact p = {tie['p_value']:.3f}: "
            f"{verdict} (at p >= {TIE_LEVEL})")
    return tie["tie"] and not exact, text


def weights_equal(a: Path, b: Path) -> bool:
    first, second = (torch.load(p / "judge.pt", map_location="cpu", weights_only=True) for p in (a, b))
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.ship_judge", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(SHIPPED))
    parser.add_argument("--check", action="store_true",
                        help="retrain in a temporary folder and compare with the shipped judge")
    parser.add_argument("--exact", action="store_true",
                        help="with --check: pass only on equal weights, not on a tie in accuracy")
    args = parser.parse_args(argv)
    if args.exact and not args.check:
        parser.error("--exact goes with --check")
    shipped = SHIPPED_ROOT / SHIPPED[args.dataset].name
    data = load_dataset(args.dataset)
    if args.check:
        if problem := shipped_damage(shipped, SHIPPED[args.dataset].sha256):
            print(f"error: the shipped judge {shipped}: {problem}; restore it with git checkout", file=sys.stderr)
            return 1
        reproduced, text = check(data, shipped, args.exact)
        print(text)
        return 0 if reproduced else 1
    info = train_shipped(data, shipped)
    print(f"{shipped}: test accuracy {info['test_accuracy']:.4f}, {info['seconds']:.0f} s\n"
          f"pin in bench/store/judges.py: {atomic.sha256_file(shipped / 'judge.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
