"""Convolutional autoencoder: two stride-2 convolutions each way, a linear bottleneck."""
from bench.layers import conv_decoder, conv_encoder
from bench.model_api import Autoencoder, register_model


class ConvAE(Autoencoder):
    def __init__(self, input_shape, latent_dim):
        super().__init__(input_shape, latent_dim)
        self.encoder = conv_encoder(input_shape, latent_dim)
        self.decoder = conv_decoder(latent_dim, input_shape)

    def encode(self, x):
        return self.encoder(x)

    def decode_logits(self, z):
        return self.decoder(z)


@register_model("conv_ae", description="Convolutional autoencoder (2 stride-2 convs, FC 256, code)",
                paper="Masci et al. 2011, https://doi.org/10.1007/978-3-642-21735-7_7",
                family="conv")
def conv_ae(input_shape, latent_dim):
    return ConvAE(input_shape, latent_dim)
