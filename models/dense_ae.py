"""Plain fully connected autoencoder: the reference point every other variant is compared to."""
from bench.layers import dense_decoder, dense_encoder
from bench.model_api import Autoencoder, register_model


class DenseAE(Autoencoder):
    def __init__(self, input_shape, latent_dim):
        super().__init__(input_shape, latent_dim)
        self.encoder = dense_encoder(self.n_pixels, latent_dim)
        self.decoder = dense_decoder(latent_dim, input_shape)

    def encode(self, x):
        return self.encoder(x)

    def decode_logits(self, z):
        return self.decoder(z)


@register_model("dense_ae", description="MLP autoencoder (pixels-512-256-z), Bernoulli reconstruction loss",
                paper="Hinton & Salakhutdinov 2006, https://doi.org/10.1126/science.1127647",
                family="dense")
def dense_ae(input_shape, latent_dim):
    return DenseAE(input_shape, latent_dim)
