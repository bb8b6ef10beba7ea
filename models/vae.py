"""Variational autoencoder with the dense architecture and a standard-normal prior.

`encode` returns the posterior mean (deterministic), so probes and clustering are not noisy;
sampling happens only inside `loss` (the reparameterisation trick).
"""
import torch

from bench.layers import dense_decoder, dense_encoder
from bench.model_api import Autoencoder, bce_per_image, register_model


class VAE(Autoencoder):
    beta = 1.0

    def __init__(self, input_shape, latent_dim):
        super().__init__(input_shape, latent_dim)
        self.encoder = dense_encoder(self.n_pixels, 2 * latent_dim)
        self.decoder = dense_decoder(latent_dim, input_shape)

    def posterior(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    def encode(self, x):
        return self.posterior(x)[0]

    def decode_logits(self, z):
        return self.decoder(z)

    def loss(self, x):
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon = bce_per_image(self.decode_logits(z), x)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum() / x.shape[0]
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl}


@register_model("vae", description="Dense VAE, Gaussian posterior, N(0, I) prior; code = posterior mean",
                paper="Kingma & Welling 2014, https://arxiv.org/abs/1312.6114", family="dense")
def vae(input_shape, latent_dim):
    return VAE(input_shape, latent_dim)
