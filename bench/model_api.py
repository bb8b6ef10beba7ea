"""The model protocol every registered autoencoder follows, and the model registry.

Why: the trainer, the evaluators and the tests only ever call `encode`, `decode` and `loss`, so a
new variant needs nothing but one file that subclasses `Autoencoder` and registers a builder.
Conventions (one for all): inputs are float images in [0, 1] shaped (N, C, H, W); `encode` is the
deterministic code (a VAE returns its posterior mean); `decode` returns images in [0, 1];
`loss` returns a dict with at least "loss" (summed over pixels, averaged over the batch).

    @register_model("my_ae", description="...", paper="https://...")
    def my_ae(input_shape, latent_dim): return MyAE(input_shape, latent_dim)
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import pkgutil
import sys
from importlib import metadata
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bench.registry import Registry

log = logging.getLogger(__name__)
MODELS = Registry("model")
ENTRY_POINT_GROUP = "aebench.models"


def register_model(name: str, *, description: str = "", **meta):
    """Decorator for a builder `(input_shape, latent_dim) -> Autoencoder`."""
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


TRAINING_SOURCES = ("layers.py", "model_api.py", "train.py")


def model_fingerprint(name: str) -> str:
    """Hash of the source that defines and trains model `name`: part of the cell's cache key,
    so editing a model (or the shared layers or loop) retrains it instead of reusing old
    weights."""
    module = sys.modules[MODELS.get(name).builder.__module__]
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in [Path(module.__file__), *(here / f for f in TRAINING_SOURCES)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_model(name: str, input_shape, latent_dim: int) -> Autoencoder:
    model = MODELS.get(name).builder(tuple(input_shape), latent_dim)
    if not isinstance(model, Autoencoder):
        raise TypeError(f"model {name!r}: builder returned {type(model).__name__}, "
                        "not a bench.model_api.Autoencoder")
    return model


class PluginError(RuntimeError):
    """A plugin could not be loaded; the message names the plugin and what is wrong."""


_loaded = False
plugin_errors: list[str] = []  # broken entry-point plugins: reported, the other models still run
plugin_files: dict[str, str] = {}  # model name -> the `--plugin` file that registered it, so
                                   # worker processes can load the files a run's models need


def plugin_files_for(models) -> list[str]:
    """The `--plugin` files the given models come from, for worker processes to load: only
    those (a long-lived process may have loaded others, even two versions of one model, which
    a worker could not load side by side)."""
    return list(dict.fromkeys(plugin_files[m] for m in models if m in plugin_files))


def load_all_models() -> Registry:
    """Import every module in the `models` package, then the `aebench.models` entry points."""
    global _loaded
    if not _loaded:
        import models

        for info in sorted(pkgutil.iter_modules(models.__path__), key=lambda m: m.name):
            importlib.import_module(f"models.{info.name}")
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                ep.load()
            except Exception as exc:  # one broken plugin must not take the others down
                message = f"model plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
                log.error("%s", message)
                plugin_errors.append(message)
        _loaded = True
    return MODELS


def load_plugin_file(path: str | Path) -> list[str]:
    """Import one Python file (`--plugin`), returning the model names it registered."""
    load_all_models()
    path = Path(path)
    if not path.is_file():
        raise PluginError(f"plugin {path}: no such file")
    before = set(MODELS.names())
    name = f"aebench_plugin_{path.stem}_{abs(hash(str(path.resolve()))) % 10**8}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        for added in set(MODELS.names()) - before:  # a half-imported plugin registers nothing
            MODELS.remove(added)
        raise PluginError(f"plugin {path}: {type(exc).__name__}: {exc}") from exc
    added = [n for n in MODELS.names() if n not in before]
    if not added:
        raise PluginError(f"plugin {path}: registered no model (use @register_model)")
    for model in added:
        plugin_files[model] = str(path.resolve())
    return added
