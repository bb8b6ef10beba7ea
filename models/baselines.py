"""Baselines that need no training: PCA with as many components as the latent size, and the
raw pixels. They go through the same evaluators, so a learned code has to beat them to matter."""
import torch

from bench.model_api import Autoencoder, register_model


class PCA(Autoencoder):
    """Principal components from the eigenvectors of the training covariance (float64)."""
    trainable = False

    def __init__(self, input_shape, latent_dim):
        super().__init__(input_shape, latent_dim)
        self.register_buffer("mean", torch.zeros(self.n_pixels))
        self.register_buffer("components", torch.zeros(latent_dim, self.n_pixels))

    def fit(self, x_train):
        x = x_train.flatten(1).double()
        mean = x.mean(0)
        centred = x - mean
        cov = centred.T @ centred / (len(x) - 1)
        eigvals, eigvecs = torch.linalg.eigh(cov)           # ascending
        top = eigvecs[:, eigvals.argsort(descending=True)[: self.latent_dim]].T
        self.mean.copy_(mean.float())
        self.components.copy_(top.float())

    def encode(self, x):
        return (x.flatten(1) - self.mean) @ self.components.T

    def decode(self, z):
        return (z @ self.components + self.mean).clamp(0.0, 1.0).view(-1, *self.input_shape)


class RawPixels(Autoencoder):
    """The identity 'code': what every evaluator scores when no model is used at all."""
    trainable = False
    has_decoder = False

    def fit(self, x_train):
        pass

    def encode(self, x):
        return x.flatten(1)


@register_model("pca", description="PCA with as many components as the latent size (closed form)",
                paper="Pearson 1901; Hotelling 1933", family="baseline")
def pca(input_shape, latent_dim):
    return PCA(input_shape, latent_dim)


@register_model("raw", description="The raw pixels as the code (ignores --latent-dim); no decoder",
                family="baseline")
def raw(input_shape, latent_dim):
    return RawPixels(input_shape, latent_dim)
