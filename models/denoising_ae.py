"""Denoising autoencoder: the dense architecture, trained to undo Gaussian noise.

The noise is applied inside `loss` only, so the trainer stays one loop for every model and the
code under evaluation (`encode` of the clean image) is comparable with `dense_ae`'s.
"""
import torch

from bench.model_api import bce_per_image, register_model
from models.dense_ae import DenseAE

NOISE_STD = 0.3


class DenoisingAE(DenseAE):
    def __init__(self, input_shape, latent_dim, noise_std: float = NOISE_STD):
        super().__init__(input_shape, latent_dim)
        self.noise_std = noise_std

    def loss(self, x):
        noisy = (x + self.noise_std * torch.randn_like(x)).clamp_(0.0, 1.0)
        recon = bce_per_image(self.decode_logits(self.encode(noisy)), x)
        return {"loss": recon, "recon": recon}


@register_model("denoising_ae", description=f"Dense AE trained to remove Gaussian noise (std {NOISE_STD})",
                paper="Vincent et al. 2008, https://doi.org/10.1145/1390156.1390294",
                family="dense", noise_std=NOISE_STD)
def denoising_ae(input_shape, latent_dim):
    return DenoisingAE(input_shape, latent_dim)
