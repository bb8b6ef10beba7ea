"""Deterministic autoencoders whose code is shaped by a penalty: sparse, contractive, WAE-MMD.

Each has `dense_ae`'s architecture; the penalty lives in `loss`, so the shared trainer is unchanged.
Weights were chosen so the penalty is a visible share (~5-20%) of the reconstruction loss (BCE
summed over 784 pixels, ~60-100 per image) under the uniform budget.
"""
import torch

from bench.model_api import bce_per_image, register_model
from models.dense_ae import DenseAE


class SparseAE(DenseAE):
    """L1 penalty on the code: few active units per image."""

    def __init__(self, input_shape, latent_dim, weight: float = 0.1):
        super().__init__(input_shape, latent_dim)
        self.weight = weight

    def loss(self, x):
        z = self.encode(x)
        recon = bce_per_image(self.decode_logits(z), x)
        l1 = z.abs().sum(1).mean()
        return {"loss": recon + self.weight * l1, "recon": recon, "l1": l1}


class ContractiveAE(DenseAE):
    """Penalty on the encoder Jacobian's squared Frobenius norm, estimated without bias by
    Hutchinson's trick: E_v ||v^T J||^2 = ||J||_F^2 for v ~ N(0, I), one extra backward pass
    instead of one per code unit."""

    def __init__(self, input_shape, latent_dim, weight: float = 0.05):
        super().__init__(input_shape, latent_dim)
        self.weight = weight

    def loss(self, x):
        x = x.detach().requires_grad_(True)
        z = self.encode(x)
        recon = bce_per_image(self.decode_logits(z), x.detach())
        v = torch.randn_like(z)
        (vjp,) = torch.autograd.grad(z, x, grad_outputs=v, create_graph=True)
        jacobian = vjp.pow(2).flatten(1).sum(1).mean()
        return {"loss": recon + self.weight * jacobian, "recon": recon, "jacobian": jacobian}


class WAE(DenseAE):
    """Wasserstein autoencoder: the batch of codes is pulled towards N(0, I) by an MMD penalty
    with an inverse multiquadratic kernel over several scales (Tolstikhin et al.)."""

    SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

    def __init__(self, input_shape, latent_dim, weight: float = 10.0):
        super().__init__(input_shape, latent_dim)
        self.weight = weight

    def loss(self, x):
        z = self.encode(x)
        recon = bce_per_image(self.decode_logits(z), x)
        mmd = self.mmd(z, torch.randn_like(z))
        return {"loss": recon + self.weight * mmd, "recon": recon, "mmd": mmd}

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


@register_model("sparse_ae", description="Dense AE with an L1 penalty (0.1) on the code",
                paper="Ng 2011, CS294A lecture notes; Ranzato et al. 2007", family="dense", weight=0.1)
def sparse_ae(input_shape, latent_dim):
    return SparseAE(input_shape, latent_dim)


@register_model("contractive_ae", description="Dense AE penalising the encoder Jacobian (Hutchinson estimate, 0.05)",
                paper="Rifai et al. 2011, https://icml.cc/2011/papers/455_icmlpaper.pdf",
                family="dense", weight=0.05)
def contractive_ae(input_shape, latent_dim):
    return ContractiveAE(input_shape, latent_dim)


@register_model("wae_mmd", description="Wasserstein AE: MMD (IMQ kernel, weight 10) to an N(0, I) prior",
                paper="Tolstikhin et al. 2018, https://arxiv.org/abs/1711.01558", family="dense", weight=10.0)
def wae_mmd(input_shape, latent_dim):
    return WAE(input_shape, latent_dim)
