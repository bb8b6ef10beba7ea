"""What the judge's memory layout costs: the shipped MNIST judge scores the 10,000 test images
(features and probabilities in one pass, as generation and interpolation ask for them) in
torch's default NCHW order 1,000 images at a time (the layout before) and as
`bench.judge.for_inference` keeps it (channels_last, INFER_BATCH images at a time), the two
taking turns; prints each one's median seconds, the ratio, and how far their outputs differ.

Why: the judge scores every generated and interpolated image of a run, and on a CPU its
max-pooling and convolutions in NCHW order were most of the generation evaluator's time.

    python -m bench.tools.judge_speed --rounds 5 --threads 1
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time

import numpy as np
import torch

import bench.judge as judge_module
from bench.data.datasets import load_dataset, to_float
from bench.store.judges import SHIPPED, SHIPPED_ROOT


def scored(judge, x: torch.Tensor, batch: int) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    """(seconds, (features, probabilities)) of one pass over `x`, `batch` images at a time."""
    start = time.perf_counter()
    out = judge.features_and_probs(x, batch)
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.judge_speed",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a worker has one)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    now, _ = judge_module.load_judge.__wrapped__(SHIPPED_ROOT / SHIPPED["mnist"].name)
    layouts = {"NCHW, 1,000 at a time": (copy.deepcopy(now).to(memory_format=torch.contiguous_format), 1_000),
               f"channels_last, {judge_module.INFER_BATCH:,} at a time": (now, judge_module.INFER_BATCH)}
    x = to_float(load_dataset("mnist").x_test, torch.device("cpu"))
    seconds: dict[str, list[float]] = {name: [] for name in layouts}
    outputs = {}
    for _ in range(args.rounds):
        for name, (judge, batch) in layouts.items():
            took, outputs[name] = scored(judge, x, batch)
            seconds[name].append(took)
    print(f"shipped judge on {len(x):,} MNIST test images, {args.threads} thread(s), median of {args.rounds}")
    for name, taken in seconds.items():
        print(f"{name:28s} {statistics.median(taken):6.3f} s")
    before, after = (statistics.median(t) for t in seconds.values())
    (features_1, probs_1), (features_2, probs_2) = outputs.values()
    difference = max(np.abs(features_1 - features_2).max(), np.abs(probs_1 - probs_2).max())
    print(f"ratio {before / after:.2f}x; largest output difference {difference:.1e}; "
          f"equal predictions: {(probs_1.argmax(1) == probs_2.argmax(1)).all()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
