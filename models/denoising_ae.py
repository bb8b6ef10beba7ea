"""Denoising autoencoder: the dense architecture, trained to undo Gaussian noise.

The noise is applied inside `loss` only, so the trainer stays one loop for every model and the
code under evaluation (`encode` of the clean image) is comparable with `dense_ae`'s.
"""
import torch

from bench.model_api import bce_per_image, register_model
from bench.tunables import Knob
from models.dense_ae import DenseAE



class DenoisingAE(DenseAE):
    def __init__(self, input_shape, latent_dim, noise_std: float):
        super().__init__(input_shape, latent_dim)
        self.noise_std = noise_std

    def loss(self, x):
        noisy = (x + self.noise_std * torch.randn_like(x)).clamp_(0.0, 1.0)
        recon = bce_per_image(self.decode_logits(self.encode(noisy)), x)
        return {"loss": recon, "recon": recon}


@register_model("denoising_ae", description="Dense AE trained to remove Gaussian noise",
                paper="Vincent et al. 2008, https://doi.org/10.1145/1390156.1390294",
                family="dense", tunables={"noise_std": Knob(0.3, 0.05, 0.8, scale="linear")})
def denoising_ae(input_shape, latent_dim, noise_std):
    return DenoisingAE(input_shape, latent_dim, noise_std=noise_std)
