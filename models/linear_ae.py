"""Linear autoencoder with squared error: the neural counterpart of the `pca` row.

With a linear encoder and decoder and an MSE loss, the optimum spans the same subspace as the
top principal components (Baldi & Hornik 1989), so any gap to `pca` is the optimiser's budget.
"""
from torch import nn

from bench.model_api import Autoencoder, register_model


class LinearAE(Autoencoder):
    def __init__(self, input_shape, latent_dim):
        super().__init__(input_shape, latent_dim)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(self.n_pixels, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, self.n_pixels), nn.Unflatten(1, self.input_shape))

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z).clamp(0.0, 1.0)

    def loss(self, x):
        recon = (self.decoder(self.encode(x)) - x).pow(2).flatten(1).sum(1).mean()
        return {"loss": recon, "recon": recon}


@register_model("linear_ae", description="Linear encoder and decoder, squared error (learns the PCA subspace)",
                paper="Baldi & Hornik 1989, https://doi.org/10.1016/0893-6080(89)90014-2", family="linear")
def linear_ae(input_shape, latent_dim):
    return LinearAE(input_shape, latent_dim)
