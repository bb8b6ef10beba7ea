"""The script that trained the judges aebench ships (bench/judges/<dataset>-v<N>/), and checks
that retraining reproduces them.

Training is the runner's own (`bench.judge.train_judge`: seed 0, the full training split) on one
CPU thread, so a rerun sums in the same order and gives the same weights. `--check` retrains in
a temporary folder and compares every weight with the shipped ones (weights, not file bytes,
which may differ between torch versions).

    python -m bench.tools.ship_judge mnist            # -> bench/judges/mnist-v1/, prints the pin
    python -m bench.tools.ship_judge mnist --check    # exit 0 when a retrained judge equals the shipped one
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from bench.store import atomic
from bench.data.datasets import load_dataset
from bench.judge import train_judge
from bench.store.judges import SHIPPED, SHIPPED_ROOT


def train_shipped(dataset: str, folder: Path) -> dict:
    """Train the judge for `dataset` into `folder`; its judge.json records how it was made."""
    torch.set_num_threads(1)
    train_judge(folder, load_dataset(dataset), torch.device("cpu"))
    info = json.loads((folder / "judge.json").read_text())
    info["shipped"] = folder.name
    info["trained_with"] = f"python -m bench.tools.ship_judge {dataset}"
    info["commit"] = _commit()
    info["torch"] = torch.__version__
    atomic.write_json(folder / "judge.json", info)
    return info


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
    args = parser.parse_args(argv)
    shipped = SHIPPED_ROOT / SHIPPED[args.dataset].name
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            info = train_shipped(args.dataset, Path(tmp) / shipped.name)
            same = weights_equal(Path(tmp) / shipped.name, shipped)
        print(f"retrained: test accuracy {info['test_accuracy']:.4f}; weights "
              f"{'equal to' if same else 'DIFFERENT from'} {shipped}")
        return 0 if same else 1
    info = train_shipped(args.dataset, shipped)
    print(f"{shipped}: test accuracy {info['test_accuracy']:.4f}, {info['seconds']:.0f} s\n"
          f"pin in bench/store/judges.py: {atomic.sha256_file(shipped / 'judge.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
