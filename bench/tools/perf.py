"""Training-speed benchmark: the project's loop against pythae's trainer and a tutorial-style
loop, and against the machine's own matrix-multiply limit, measured in one run on one machine.

Why: speed claims are measured, not guessed, and as ratios from the same run so that a busy
or slow machine shifts both sides alike. Timed assertions live nowhere in the tests.

    python -m bench.tools.perf                       # every trainable model, 12,800 MNIST images
                                                     # (pythae's column needs: pip install -e .[perf])
    python -m bench.tools.perf --models conv_ae,dense_ae --images 6400 --json perf.json
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from bench.cost import model_cost
from bench.data.datasets import load_dataset, to_float
from bench.model_api import build_model
from bench.plugins import load_all_models
from bench.train_spec import TrainSpec
from bench.train import seed_everything, train


class PerSampleImages(Dataset):
    """The tutorial pattern: one uint8 image at a time, converted by a transform."""

    def __init__(self, images: np.ndarray):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return torch.from_numpy(self.images[i]).float().div(255.0)


def tutorial_images_per_s(model, images: np.ndarray, batch_size: int, lr: float) -> float:
    """Two epochs of a DataLoader loop (the second timed), as most tutorials write it."""
    loader = DataLoader(PerSampleImages(images), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for epoch in range(2):
        start = time.perf_counter()
        for xb in loader:
            loss = model.loss(xb)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return len(images) / (time.perf_counter() - start)


def flops_per_image(model, x: torch.Tensor) -> float:
    """Forward + backward FLOPs of one training step, per image (`bench.cost`, the count the
    report's model cards and `--budget-flops` use)."""
    return model_cost(model, x)["train_flops_per_image"]


def matmul_flops_per_s(n: int = 1024, repeats: int = 20) -> float:
    """fp32 matrix-multiply throughput of this machine: the practical ceiling for dense layers."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def measure(models: list[str], dataset: str, n_images: int, batch_size: int, lr: float,
            repeats: int = 3) -> dict:
    """Images/s of every variant of every model: the median of `repeats` rounds, the variants
    interleaved within a round, so that a slow spell of the machine hits them all alike (one
    round alone moved ratios by up to +-30% between runs here)."""
    from bench.tools import perf_pythae

    data = load_dataset(dataset)
    images = data.x_train[:n_images]
    x = to_float(images)
    peak = matmul_flops_per_s()
    pythae_missing = perf_pythae.unavailable_reason()
    latent = 32 if data.n_pixels >= 32 else 8
    spec = TrainSpec(epochs=2, batch_size=batch_size, lr=lr)
    rows = []
    for name in models:
        def fresh():
            seed_everything(0)
            return build_model(name, data.input_shape, latent)

        variants = {
            "ours": lambda: train(fresh(), x, spec.resolved(False), seed=0, desc=name,
                                  threads=False)[-1]["images_per_s"],
            "tutorial": lambda: tutorial_images_per_s(fresh(), images, batch_size, lr),
            "amp": lambda: train(fresh(), x, spec.resolved(True), seed=0, desc=f"{name} amp",
                                 threads=False)[-1]["images_per_s"],
        }
        if pythae_missing is None and name in perf_pythae.PYTHAE_MODELS:
            variants["pythae"] = lambda: perf_pythae.pythae_images_per_s(fresh(), name, images,
                                                                          batch_size, lr)
        samples: dict[str, list[float]] = {key: [] for key in variants}
        for _ in range(repeats):
            for key, run_once in variants.items():
                samples[key].append(run_once())
        speed = {key: float(np.median(values)) for key, values in samples.items()}
        ours, pythae = speed["ours"], speed.get("pythae", float("nan"))
        flops = flops_per_image(fresh(), x[:batch_size])
        rows.append({"model": name, "images_per_s": ours, "samples": samples,
                     "tutorial_images_per_s": speed["tutorial"],
                     "speedup_vs_tutorial": ours / speed["tutorial"], "pythae_images_per_s": pythae,
                     "speedup_vs_pythae": ours / pythae, "amp_images_per_s": speed["amp"],
                     "amp_speedup": speed["amp"] / ours, "gflop_per_image": flops / 1e9,
                     "achieved_gflop_per_s": flops * ours / 1e9,
                     "fraction_of_matmul_peak": flops * ours / peak})
    return {"dataset": dataset, "images": len(images), "batch_size": batch_size,
            "repeats": repeats, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "matmul_gflop_per_s": peak / 1e9, "pythae": pythae_missing or _pythae_version(),
            "models": rows}


def _pythae_version() -> str:
    from importlib.metadata import version
    return f"pythae {version('pythae')}"


def table(result: dict) -> str:
    lines = [f"{result['images']:,} {result['dataset']} images, batch {result['batch_size']}, "
             f"median of {result.get('repeats', 1)} interleaved rounds, "
             f"{result['threads']} threads, torch {result['torch']}; fp32 matmul peak "
             f"{result['matmul_gflop_per_s']:.1f} GFLOP/s; {result.get('pythae', '')}",
             f"{'model':<16}{'img/s':>9}{'pythae':>9}{'ratio':>7}{'tutorial':>10}{'ratio':>7}"
             f"{'MFLOP/img':>11}{'% peak':>9}{'--amp':>8}"]
    for r in result["models"]:
        pythae = r.get("pythae_images_per_s", float("nan"))
        lines.append(f"{r['model']:<16}{r['images_per_s']:>9,.0f}{_num(pythae, 9, ',.0f')}"
                     f"{_num(r.get('speedup_vs_pythae', float('nan')), 6, '.2f')}{' ' if np.isnan(pythae) else 'x'}"
                     f"{r['tutorial_images_per_s']:>10,.0f}"
                     f"{r['speedup_vs_tutorial']:>6.2f}x{_num(r['gflop_per_image'] * 1e3, 11, '.2f')}"
                     f"{_num(100 * r['fraction_of_matmul_peak'], 7, '.1f%')}"
                     f"{_num(r.get('amp_speedup', float('nan')), 7, '.2f')}x")
    return "\n".join(lines)


def _num(value: float, width: int, spec: str) -> str:
    if np.isnan(value):
        return f"{'n/a':>{width}}"
    return f"{value:>{width}{spec.rstrip('%')}}" + ("%" if spec.endswith("%") else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tools.perf", description=__doc__.splitlines()[0])
    p.add_argument("--models", default="*", help="comma-separated patterns (default: every trainable model)")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--images", type=int, default=12_800)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--repeats", type=int, default=3, help="rounds per model (the median is reported)")
    p.add_argument("--json", default=None, help="also write the result here")
    args = p.parse_args(argv)
    registry = load_all_models()
    names = [n for n in registry.names(args.models.split(","))
             if registry.get(n).meta.get("family") != "baseline"]
    result = measure(names, args.dataset, args.images, args.batch_size, args.lr, args.repeats)
    print(table(result))
    if args.json:
        from bench import atomic
        atomic.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
