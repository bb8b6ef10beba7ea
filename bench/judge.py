"""The judge: a small CNN digit classifier that scores generated and interpolated images offline.

Why our own: generation and interpolation need a reference network (FID uses Inception, which is
neither offline nor meant for 28x28 digits). It is trained by the same training loop as the
models; its test accuracy is printed in the report so a reader can tell how far to trust it.
Fréchet distances are computed in its 128-d penultimate layer. Where judges are kept (shipped
with aebench for MNIST, else trained once and cached): bench.store.judges.

    judge, info = load_judge(folder)   # .features(x), .probs(x), .features_and_probs(x)
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import shutil
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from scipy import linalg
from torch import nn
from torch.nn import functional as F

from bench import atomic
from bench.store.judges import (FAILED, FILES, SHIPPED, damage, is_trained, move_aside_if_damaged,
                                publish_judge)
from bench.data.datasets import ImageData, to_float
from bench.fingerprint import code_fingerprint
from bench.train import TRAINING_VERSION, seed_everything, train
from bench.train_spec import TrainSpec

log = logging.getLogger(__name__)
JUDGE_VERSION = 1
FEATURES = 128
MIN_STEPS, MIN_EPOCHS, MAX_EPOCHS = 1_500, 3, 20  # 4 epochs on MNIST, more on small sets
BATCH, LR, SEED = 128, 1e-3, 0
# then one epoch at LR / 10, and dropout 0.3 on the features. Measured on MNIST (test accuracy):
# 4 epochs 0.9894, 6 epochs 0.9901, 4 + dropout 0.9906, 4 + dropout + the slow epoch 0.9916.
FINE_TUNE_LR, DROPOUT = LR / 10, 0.3
# Inference in channels_last memory order, 256 images at a time: on a CPU its convolutions and
# max-pooling run much faster than in NCHW blocks of 1,000 (`python -m bench.tools.judge_speed`;
# figures in the README's Performance section).
INFER_BATCH = 256


class Judge(nn.Module):
    def __init__(self, input_shape: tuple[int, int, int], n_classes: int = 10):
        super().__init__()
        c, h, w = input_shape
        self.body = nn.Sequential(
            nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(64 * (h // 4) * (w // 4), FEATURES), nn.ReLU(), nn.Dropout(DROPOUT))
        self.head = nn.Linear(FEATURES, n_classes)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        ce = F.cross_entropy(self.head(self.body(x)), y)
        return {"loss": ce, "cross_entropy": ce}

    @torch.no_grad()
    def _batched(self, fn, x: torch.Tensor, batch: int = INFER_BATCH) -> np.ndarray:
        self.eval()
        device = next(self.parameters()).device
        return torch.cat([fn(x[i:i + batch].to(device)).cpu()
                          for i in range(0, len(x), batch)]).double().numpy()

    def features(self, x: torch.Tensor) -> np.ndarray:
        return self._batched(self.body, x)

    def probs(self, x: torch.Tensor) -> np.ndarray:
        return self.features_and_probs(x)[1]

    def features_and_probs(self, x: torch.Tensor, batch: int = INFER_BATCH) -> tuple[np.ndarray, np.ndarray]:
        """Both from one forward pass: (N, FEATURES) features and (N, classes) probabilities."""
        def both(b):
            h = self.body(b)
            return torch.cat([h, F.softmax(self.head(h), dim=1)], dim=1)
        out = self._batched(both, x, batch)
        return out[:, :FEATURES], out[:, FEATURES:]


def judge_key(data: ImageData) -> str:
    """Hash of the data, of this file's code and of the training loop's version: a judge is kept
    between runs (the data cache), so changing how it is built or trained must not reuse an
    old one (comments and docstrings may change freely)."""
    code = code_fingerprint([Path(__file__)])
    blob = json.dumps({"version": JUDGE_VERSION, "training": TRAINING_VERSION,
                       "data": data.name, "n_train": len(data.x_train),
                       "n_test": len(data.x_test), "shape": list(data.input_shape),
                       "code": code}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def judge_name(data: ImageData) -> str:
    """The judge's folder name: the shipped judge's name, or (trained here) the same name in a
    results store and in the data cache."""
    shipped = SHIPPED.get(data.name)
    return shipped.name if shipped else f"{data.name}-{judge_key(data)}"


def judge_folder(out: Path, data: ImageData) -> Path:
    """Where the judge for `data` lives in the results store (trained or not)."""
    return Path(out) / "judge" / judge_name(data)

def cached_judge_folder(cache_root: Path, data: ImageData) -> Path:
    """Where the judge for `data` is kept between results directories."""
    return Path(cache_root) / judge_name(data)


def ensure_judge(out: Path, data: ImageData, device: torch.device, cache: Path | None = None) -> Path:
    """The judge's directory in the results store: copied from `cache` (a `cached_judge_folder`)
    when an earlier run trained it, else trained here on first use and then kept in `cache`. A
    failure is written to `failed.json` for evaluators waiting in other processes."""
    folder = judge_folder(out, data)
    if adopt_cached_judge(folder, cache):
        return folder
    (folder / FAILED).unlink(missing_ok=True)
    try:
        train_judge(folder, data, device)
    except Exception as exc:
        atomic.write_json(folder / FAILED, {"reason": f"{type(exc).__name__}: {exc}"})
        raise
    if cache is not None:
        publish_judge(folder, cache)
    return folder

def adopt_cached_judge(folder: Path, cache: Path | None) -> bool:
    """True when `folder` holds a trained judge, copying it from `cache` first if need be. A
    cached judge that cannot be loaded (a corrupt file) is deleted with a warning, and False
    tells the caller to train a new one."""
    move_aside_if_damaged(folder)
    if is_trained(folder) or cache is None or not is_trained(cache):
        return is_trained(folder)
    try:
        if problem := damage(cache):
            raise ValueError(problem)
        load_judge.__wrapped__(cache)  # a file may match judge.json and still not load
    except Exception as exc:
        log.warning("the cached judge in %s cannot be loaded (%s: %s); training a new one",
                    cache, type(exc).__name__, exc)
        shutil.rmtree(cache, ignore_errors=True)
        return False
    for name in FILES:
        atomic.write_bytes(folder / name, (cache / name).read_bytes())
    log.info("judge classifier copied from the data cache (%s)", cache)
    return True


def train_judge(folder: Path, data: ImageData, device: torch.device) -> None:
    """Train the judge on `data`'s training split and write judge.pt, then judge.json."""
    start = time.perf_counter()
    seed_everything(SEED)
    x_train, y_train = to_float(data.x_train, device), torch.as_tensor(data.y_train, device=device)
    n_classes = int(data.y_train.max()) + 1
    judge = Judge(data.input_shape, n_classes).to(device)
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(MIN_STEPS * BATCH / len(x_train))))
    log.info("training the judge classifier on %d images for %d epochs", len(x_train), epochs)
    # the per-parameter Adam the shipped judges were trained with: `ship_judge --check` retrains
    # one and compares every weight
    spec = TrainSpec(epochs=epochs, batch_size=BATCH, lr=LR, precision="float32")
    history = train(judge, x_train, spec, y_train=y_train, seed=SEED, desc="judge",
                    fused_adam=False, threads=False)
    history += train(judge, x_train, replace(spec, epochs=1, lr=FINE_TUNE_LR), y_train=y_train,
                     seed=SEED + 1, desc="judge (fine-tune)", fused_adam=False, threads=False)
    atomic.write_with(folder / "judge.pt", lambda f: torch.save(judge.state_dict(), f))
    judge = for_inference(judge)
    test_features, test_probs = judge.features_and_probs(to_float(data.x_test, device))
    accuracy = float((test_probs.argmax(1) == data.y_test).mean())
    floor = frechet_distance(*feature_stats(test_features), *feature_stats(judge.features(x_train)))
    atomic.write_json(folder / "judge.json", {
        "files": {"judge.pt": atomic.sha256_file(folder / "judge.pt")},
        "version": JUDGE_VERSION, "dataset": data.name, "n_train": len(x_train),
        "n_classes": n_classes, "input_shape": list(data.input_shape), "epochs": epochs + 1,
        "test_accuracy": accuracy, "fid_floor": floor, "final_loss": history[-1]["loss"],
        "seconds": time.perf_counter() - start})
    log.info("judge: test accuracy %.4f, FID floor (test vs train) %.3f", accuracy, floor)


@functools.lru_cache(maxsize=2)
def load_judge(folder: Path, device: str = "cpu") -> tuple[Judge, dict]:
    """(judge in eval mode, its judge.json)."""
    info = json.loads((Path(folder) / "judge.json").read_text())
    judge = Judge(tuple(info["input_shape"]), info["n_classes"])
    judge.load_state_dict(torch.load(Path(folder) / "judge.pt", map_location="cpu", weights_only=True))
    return for_inference(judge.to(device)), info


def for_inference(judge: Judge) -> Judge:
    """The judge in eval mode with its weights in channels_last order (see INFER_BATCH); saved
    weights stay in torch's default order."""
    return judge.to(memory_format=torch.channels_last).eval()


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)): the FID formula (Heusel et al. 2017),
    with the usual small diagonal offset when the product is near singular."""
    diff = mu1 - mu2
    with warnings.catch_warnings():  # dead ReLU features make the product singular: harmless
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    return float(max(0.0, diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)))
