"""The model protocol every registered autoencoder follows, and the model registry.

Why: the trainer, the evaluators and the tests only ever call `encode`, `decode` and `loss`, so a
new variant needs nothing but one file that subclasses `Autoencoder` and registers a builder.
Conventions (one for all): inputs are float images in [0, 1] shaped (N, C, H, W); `encode` is the
deterministic code (a VAE returns its posterior mean); `decode` returns images in [0, 1];
`loss` returns a dict with at least "loss" (summed over pixels, averaged over the batch).

    @register_model("my_ae", description="...", paper="https://...",
                    tunables={"weight": Knob(0.1, 0.01, 1.0)})   # optional (bench.tunables)
    def my_ae(input_shape, latent_dim, weight): return MyAE(input_shape, latent_dim, weight)

Its behaviour is part of every cell's key through `bench.train.TRAINING_VERSION` (a golden test
makes a change to its code a decision); finding and loading models lives in `bench.plugins`.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bench.fingerprint import code_fingerprint
from bench.registry import Registry
from bench.tunables import own_values

MODELS = Registry("model")


def register_model(name: str, *, description: str = "", **meta):
    """Decorator for a builder `(input_shape, latent_dim, **knobs) -> Autoencoder`; `tunables=`
    {name: bench.tunables.Knob} declares the knobs a builder takes and what tuning may search."""
    return MODELS.register(name, description=description, **meta)


class Autoencoder(nn.Module):
    """Base class: subclasses implement `encode` and `decode_logits` (or override `loss`)."""
    trainable = True      # False for closed-form baselines, which implement `fit` instead
    has_decoder = True    # False for the raw-pixel baseline: no reconstruction metrics

    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.latent_dim = latent_dim

    @property
    def n_pixels(self) -> int:
        c, h, w = self.input_shape
        return c * h * w

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        recon = bce_per_image(self.decode_logits(self.encode(x)), x)
        return {"loss": recon, "recon": recon}

    def fit(self, x_train: torch.Tensor) -> None:
        """Closed-form fitting for non-trainable baselines."""
        raise NotImplementedError


def bce_per_image(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood summed over pixels, averaged over the batch."""
    return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / target.shape[0]


def model_fingerprint(name: str) -> str:
    """The code of the module that defines model `name`, comments and docstrings left out: part
    of the cell's cache key, so editing a model retrains it instead of reusing old weights. The
    code every model shares (this file, the layers, the loop) is named by TRAINING_VERSION."""
    module = sys.modules[MODELS.get(name).builder.__module__]
    return code_fingerprint([Path(module.__file__)])


def build_model(name: str, input_shape, latent_dim: int, knobs: dict | None = None) -> Autoencoder:
    """Model `name`, its declared knobs at their defaults unless `knobs` overrides them."""
    entry = MODELS.get(name)
    model = entry.builder(tuple(input_shape), latent_dim, **own_values(entry.meta, knobs))
    if not isinstance(model, Autoencoder):
        raise TypeError(f"model {name!r}: builder returned {type(model).__name__}, "
                        "not a bench.model_api.Autoencoder")
    return model
