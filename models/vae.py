"""Variational autoencoders with a standard-normal prior: `vae` (dense), `conv_vae`, `beta_vae`.

`encode` returns the posterior mean (deterministic), so probes and clustering are not noisy;
sampling happens only inside `loss` (the reparameterisation trick). `vae` and `conv_vae` share
their architectures with `dense_ae` and `conv_ae`, so objective and architecture can be told apart.
"""
import torch

from bench.layers import conv_decoder, conv_encoder, dense_decoder, dense_encoder
from bench.model_api import Autoencoder, bce_per_image, register_model
from bench.tunables import Knob


class VAE(Autoencoder):
    def __init__(self, input_shape, latent_dim, conv: bool = False, beta: float = 1.0):
        super().__init__(input_shape, latent_dim)
        self.beta = beta
        if conv:
            self.encoder = conv_encoder(input_shape, 2 * latent_dim)
            self.decoder = conv_decoder(latent_dim, input_shape)
        else:
            self.encoder = dense_encoder(self.n_pixels, 2 * latent_dim)
            self.decoder = dense_decoder(latent_dim, input_shape)

    def posterior(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    def encode(self, x):
        return self.posterior(x)[0]

    def decode_logits(self, z):
        return self.decoder(z)

    def prior_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Codes drawn from the N(0, I) prior (the generation evaluator decodes them)."""
        return torch.randn(n, self.latent_dim, generator=generator)

    def loss(self, x):
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon = bce_per_image(self.decode_logits(z), x)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum() / x.shape[0]
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl}


KINGMA = "Kingma & Welling 2014, https://arxiv.org/abs/1312.6114"


@register_model("vae", description="Dense VAE, Gaussian posterior, N(0, I) prior; code = posterior mean",
                paper=KINGMA, family="dense")
def vae(input_shape, latent_dim):
    return VAE(input_shape, latent_dim)


@register_model("conv_vae", description="Convolutional VAE (conv_ae's architecture); code = posterior mean",
                paper=KINGMA, family="conv")
def conv_vae(input_shape, latent_dim):
    return VAE(input_shape, latent_dim, conv=True)


@register_model("beta_vae", description="Dense VAE with the KL term weighted by beta (> 1)",
                paper="Higgins et al. 2017, https://openreview.net/forum?id=Sy2fzU9gl",
                family="dense", tunables={"beta": Knob(4.0, 1.0, 16.0)})
def beta_vae(input_shape, latent_dim, beta):
    return VAE(input_shape, latent_dim, beta=beta)
