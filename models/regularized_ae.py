"""Deterministic autoencoders whose code is shaped by a penalty: sparse, contractive, WAE-MMD.

Each has `dense_ae`'s architecture; the penalty lives in `loss`, so the shared trainer is unchanged.
Weights were chosen so the penalty is a visible share (~5-20%) of the reconstruction loss (BCE
summed over 784 pixels, ~60-100 per image) under the uniform budget.
"""
import torch

from bench.model_api import bce_per_image, register_model
from bench.tunables import Knob
from models.dense_ae import DenseAE


class PenalisedAE(DenseAE):
    """`dense_ae` plus `weight * penalty(x, z)`; subclasses name and define the penalty."""
    penalty_name = "penalty"

    def __init__(self, input_shape, latent_dim, weight: float):
        super().__init__(input_shape, latent_dim)
        self.weight = weight

    def penalty(self, x, z):
        raise NotImplementedError

    def loss(self, x):
        z = self.encode(x)
        recon = bce_per_image(self.decode_logits(z), x.detach())
        value = self.penalty(x, z)
        return {"loss": recon + self.weight * value, "recon": recon, self.penalty_name: value}


class SparseAE(PenalisedAE):
    """L1 penalty on the code: few active units per image."""
    penalty_name = "l1"

    def penalty(self, x, z):
        return z.abs().sum(1).mean()


class ContractiveAE(PenalisedAE):
    """Penalty on the encoder Jacobian's squared Frobenius norm, estimated without bias by
    Hutchinson's trick: E_v ||v^T J||^2 = ||J||_F^2 for v ~ N(0, I), one extra backward pass
    instead of one per code unit."""
    penalty_name = "jacobian"

    def loss(self, x):
        return super().loss(x.detach().requires_grad_(True))  # the penalty differentiates by x

    def penalty(self, x, z):
        (vjp,) = torch.autograd.grad(z, x, grad_outputs=torch.randn_like(z), create_graph=True)
        return vjp.pow(2).flatten(1).sum(1).mean()


class WAE(PenalisedAE):
    """Wasserstein autoencoder: the batch of codes is pulled towards N(0, I) by an MMD penalty
    with an inverse multiquadratic kernel over several scales (Tolstikhin et al.)."""
    penalty_name = "mmd"
    SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

    def penalty(self, x, z):
        return self.mmd(z, torch.randn_like(z))

    def mmd(self, z, p):
        n, d = z.shape
        if n < 2:
            return z.new_zeros(())
        off_diag = 1.0 - torch.eye(n, device=z.device, dtype=z.dtype)
        total = z.new_zeros(())
        for scale in self.SCALES:
            c = 2.0 * d * scale
            k = lambda a, b: c / (c + torch.cdist(a, b).pow(2))
            total = total + ((k(z, z) + k(p, p)) * off_diag).sum() / (n * (n - 1)) \
                - 2.0 * k(z, p).mean()
        return total


@register_model("sparse_ae", description="Dense AE with an L1 penalty on the code",
                paper="Ng 2011, CS294A lecture notes; Ranzato et al. 2007", family="dense",
                tunables={"weight": Knob(0.1, 0.01, 1.0)})
def sparse_ae(input_shape, latent_dim, weight):
    return SparseAE(input_shape, latent_dim, weight=weight)


@register_model("contractive_ae", description="Dense AE penalising the encoder Jacobian (Hutchinson estimate)",
                paper="Rifai et al. 2011, https://icml.cc/2011/papers/455_icmlpaper.pdf",
                family="dense", tunables={"weight": Knob(0.05, 0.005, 0.5)})
def contractive_ae(input_shape, latent_dim, weight):
    return ContractiveAE(input_shape, latent_dim, weight=weight)


@register_model("wae_mmd", description="Wasserstein AE: MMD (IMQ kernel) to an N(0, I) prior",
                paper="Tolstikhin et al. 2018, https://arxiv.org/abs/1711.01558", family="dense",
                tunables={"weight": Knob(10.0, 1.0, 100.0)})
def wae_mmd(input_shape, latent_dim, weight):
    return WAE(input_shape, latent_dim, weight=weight)
