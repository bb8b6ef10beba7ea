"""Datasets by name, held as uint8 arrays and handed to torch as whole tensors.

Why: MNIST fits in memory many times over, so the trainer indexes one tensor per batch instead of
running per-sample Python (a DataLoader over a Dataset costs more than the small models do).

    data = load_dataset("mnist", limit=1000)   # data.x_train: uint8 (N, 1, 28, 28)
"""
from __future__ import annotations

import hashlib

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench.registry import Registry

DATASETS = Registry("dataset")


@dataclass(frozen=True)
class ImageData:
    """Train/test images (uint8, N x C x H x W) and integer labels."""
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_pixels(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()) + 1)

    @property
    def test_sha256(self) -> str:
        """What the test set is, byte for byte: a reference run is compared only on the same."""
        digest = hashlib.sha256(np.ascontiguousarray(self.x_test).tobytes())
        digest.update(np.ascontiguousarray(self.y_test).astype(np.int64).tobytes())
        return digest.hexdigest()

    def limited(self, limit: int | None) -> "ImageData":
        """The first `limit` training and first `limit` test images."""
        if limit is None:
            return self
        if limit > len(self.x_train) or limit > len(self.x_test):
            raise ValueError(f"--limit {limit} is larger than {self.name} "
                             f"({len(self.x_train)} train / {len(self.x_test)} test images)")
        return ImageData(self.name, self.x_train[:limit], self.y_train[:limit],
                         self.x_test[:limit], self.y_test[:limit], self.source)


    def tuning_split(self, share: int, seed: int) -> "ImageData":
        """The tuning protocol's data (bench.tune): a fixed 1/`share` of the training images,
        drawn by `seed`, as its test set, the rest as its training set. The test set is never
        touched, and every model is tuned on the same split."""
        order = np.random.default_rng(seed).permutation(len(self.x_train))
        held, kept = np.sort(order[:len(order) // share]), np.sort(order[len(order) // share:])
        return ImageData(f"{self.name}-tuning", self.x_train[kept], self.y_train[kept],
                         self.x_train[held], self.y_train[held], self.source)


def to_float(x: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 images -> float32 tensor in [0, 1] on `device`."""
    return torch.from_numpy(np.ascontiguousarray(x)).to(device).float().div_(255.0)


def default_data_root() -> Path:
    """`AEBENCH_DATA`, else the user's cache directory (XDG on Linux)."""
    if os.environ.get("AEBENCH_DATA"):
        return Path(os.environ["AEBENCH_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "aebench"


def load_dataset(name: str, data_root: str | Path | None = None, limit: int | None = None) -> ImageData:
    entry = DATASETS.get(name)
    data = entry.builder(Path(data_root) if data_root else default_data_root())
    return data.limited(limit)


@DATASETS.register("mnist", description="MNIST handwritten digits, 60k train / 10k test, 28x28")
def mnist(data_root: Path) -> ImageData:
    from bench.data.sources import SourceChain

    arrays = SourceChain().load(data_root)
    return ImageData("mnist", arrays["x_train"][:, None], arrays["y_train"],
                     arrays["x_test"][:, None], arrays["y_test"], source=str(data_root))


# name -> (torchvision class, its keyword arguments, (n_train, n_test), images stored transposed)
TORCHVISION_SETS = {
    "fashion_mnist": ("FashionMNIST", {}, (60_000, 10_000), False),
    "kmnist": ("KMNIST", {}, (60_000, 10_000), False),
    "emnist_digits": ("EMNIST", {"split": "digits"}, (240_000, 40_000), True),
}


def torchvision_set(name: str, data_root: Path) -> ImageData:
    """A 28x28, 10-class set in MNIST's format: the local cache, else torchvision's download
    (its MD5s checked), cached as a uint8 copy with a SHA-256 sidecar like MNIST."""
    from bench.data.sources import SourceChain, from_torchvision

    cls, kwargs, sizes, transposed = TORCHVISION_SETS[name]
    fetch = lambda root: from_torchvision(root, cls=cls, **kwargs)
    chain = SourceChain(sources=[(f"torchvision {cls} download", fetch)], sizes=sizes, name=name,
                        help=f"Put torchvision's raw {cls} files in {{cache}}/torchvision/{cls}/raw "
                             "(https://pytorch.org/vision/stable/datasets.html), then run again.")
    arrays = chain.load(data_root)
    fix = (lambda x: x.transpose(0, 2, 1)) if transposed else (lambda x: x)  # EMNIST is stored transposed
    return ImageData(name, fix(arrays["x_train"])[:, None], arrays["y_train"],
                     fix(arrays["x_test"])[:, None], arrays["y_test"], source=str(data_root))


for _name, (_cls, _kwargs, (_n_train, _n_test), _) in TORCHVISION_SETS.items():
    DATASETS.register(_name, description=f"torchvision {_cls} {_kwargs.get('split', '')}".rstrip()
                      + f", {_n_train // 1000}k train / {_n_test // 1000}k test, 28x28")(
        lambda root, _name=_name: torchvision_set(_name, root))


@DATASETS.register("digits", description="scikit-learn's bundled 8x8 digits (1,797 images), offline")
def digits(data_root: Path) -> ImageData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    n_train = 1_500  # the bundled order is already shuffled across writers
    return ImageData("digits", images[:n_train], labels[:n_train],
                     images[n_train:], labels[n_train:], source="sklearn.datasets.load_digits")
