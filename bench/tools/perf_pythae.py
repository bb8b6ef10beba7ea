"""The same networks trained by pythae's `BaseTrainer`, the peer column of `python -m bench.tools.perf`
(measured whenever pythae is installed).

Why pythae: it is the closest existing library for training autoencoder variants, so "how fast
is our loop" is best answered against it, on the identical encoder and decoder modules, batch
size, optimiser and data. pythae is an optional extra (`pip install -e .[perf]`, pythae 0.1.2).

Models pythae can express: `dense_ae` / `conv_ae` (pythae `AE`), `vae` / `conv_vae` (`VAE`,
Bernoulli likelihood), `beta_vae` (`BetaVAE`, beta 4), `wae_mmd` (`WAE_MMD`). Throughput is
measured on the second of two epochs, from pythae's own epoch callbacks.

    images_per_s = pythae_images_per_s(model, "vae", images, batch_size=128, lr=1e-3)
"""
from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time

import numpy as np
import torch

# our model name -> (pythae model class, its config class, extra config, VAE-style encoder)
PYTHAE_MODELS = {
    "dense_ae": ("AE", "AEConfig", {}, False),
    "conv_ae": ("AE", "AEConfig", {}, False),
    "vae": ("VAE", "VAEConfig", {"reconstruction_loss": "bce"}, True),
    "conv_vae": ("VAE", "VAEConfig", {"reconstruction_loss": "bce"}, True),
    "beta_vae": ("BetaVAE", "BetaVAEConfig", {"reconstruction_loss": "bce", "beta": 4.0}, True),
    "wae_mmd": ("WAE_MMD", "WAE_MMD_Config", {"kernel_choice": "imq", "reg_weight": 10.0}, False),
}


def unavailable_reason() -> str | None:
    """Why pythae cannot be used (shown in the benchmark's table), or None when it can."""
    try:
        import pythae  # noqa: F401
    except Exception as exc:  # ImportError, or pythae failing against the installed pydantic
        return f"pythae not importable ({type(exc).__name__}: {exc}); pip install -e .[perf]"
    return None


def _wrap(model, vae_style: bool):
    """pythae encoder/decoder modules around our model's own `encoder` / `decoder` networks."""
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = model.encoder

        def forward(self, x):
            h = self.net(x)
            if vae_style:
                mu, logvar = h.chunk(2, dim=1)
                return ModelOutput(embedding=mu, log_covariance=logvar)
            return ModelOutput(embedding=h)

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = model.decoder

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

    return Encoder(), Decoder()


def pythae_images_per_s(model, name: str, images: np.ndarray, batch_size: int, lr: float) -> float:
    """Two epochs of pythae's BaseTrainer on `model`'s networks; images/s of the second."""
    import pythae.models as pm
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer, BaseTrainerConfig
    from pythae.trainers.training_callbacks import TrainingCallback

    cls, config_cls, extra, vae_style = PYTHAE_MODELS[name]
    config = getattr(pm, config_cls)(input_dim=tuple(model.input_shape), latent_dim=model.latent_dim, **extra)
    encoder, decoder = _wrap(model, vae_style)
    pythae_model = getattr(pm, cls)(model_config=config, encoder=encoder, decoder=decoder)
    x = torch.from_numpy(images).float().div(255.0)
    dataset = BaseDataset(x, torch.zeros(len(x)))

    class EpochTimer(TrainingCallback):
        def __init__(self):
            self.starts, self.ends = [], []

        def on_epoch_begin(self, training_config, **kwargs):
            self.starts.append(time.perf_counter())

        def on_epoch_end(self, training_config, **kwargs):
            self.ends.append(time.perf_counter())

    timer = EpochTimer()
    quiet = io.StringIO()  # pythae prints a progress bar and a banner per epoch
    logging.getLogger("pythae.trainers.base_trainer.base_trainer").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="aebench-pythae-") as tmp, \
            contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        trainer_config = BaseTrainerConfig(output_dir=tmp, num_epochs=2, learning_rate=lr,
                                           per_device_train_batch_size=batch_size, no_cuda=True,
                                           optimizer_cls="Adam", scheduler_cls=None, seed=0)
        trainer = BaseTrainer(pythae_model, train_dataset=dataset, training_config=trainer_config,
                              callbacks=[timer])
        trainer.train()
    return len(images) / (timer.ends[-1] - timer.starts[-1])
