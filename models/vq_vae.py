"""VQ-VAE with `dense_ae`'s architecture and a product-quantised code.

A single 32-D vector quantised against one codebook could take only K values over the whole
dataset, so the code is split into groups of `GROUP` dimensions, each snapped to its nearest
entry of a shared codebook (K = 128): 128^(z/4) distinct codes. Gradients pass the quantiser
straight through (van den Oord et al. 2017).

The codebook follows exponential moving averages of the codes assigned to each entry (the
paper's appendix; VQ-VAE-2) instead of a gradient loss: under the shared Adam optimiser a
codebook entry moves at most ~lr per step, too slowly to follow the encoder, and the loss rose
(measured: 1,001 -> 10,414 in two epochs on 2,000 images). The EMA update lives in `loss`, so
the shared trainer is unchanged. The code the evaluators see (`encode`) is the *quantised*
vector, the one the decoder uses; `decode` snaps any code to the codebook first, so sampled and
interpolated codes (generation, interpolation) are decoded as the decoder was trained: from
codebook entries, never from points between them.
"""
import torch
import torch.nn.functional as F

from bench.layers import dense_decoder, dense_encoder
from bench.model_api import Autoencoder, bce_per_image, register_model
from bench.tunables import Knob

DECAY = 0.99   # EMA decay of the codebook statistics
EPS = 1e-5


class VQVAE(Autoencoder):
    def __init__(self, input_shape, latent_dim, codebook_size: int, commitment: float):
        super().__init__(input_shape, latent_dim)
        self.commitment = commitment
        self.group = next(g for g in (4, 2, 1) if latent_dim % g == 0)
        self.encoder = dense_encoder(self.n_pixels, latent_dim)
        self.decoder = dense_decoder(latent_dim, input_shape)
        self.register_buffer("codebook", torch.randn(codebook_size, self.group) * 0.01)
        self.register_buffer("ema_count", torch.ones(codebook_size))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("initialised", torch.tensor(False))

    def nearest(self, z_e):
        flat = z_e.reshape(-1, self.group)
        return flat, torch.cdist(flat, self.codebook).argmin(1)

    def quantise(self, z_e):
        _, index = self.nearest(z_e)
        return self.codebook[index].view_as(z_e)

    def encode(self, x):
        return self.quantise(self.encoder(x))

    def decode_logits(self, z):
        return self.decoder(z)

    def decode(self, z):
        return torch.sigmoid(self.decode_logits(self.quantise(z)))

    @torch.no_grad()
    def update_codebook(self, z_e):
        flat, index = self.nearest(z_e.detach())
        if not self.initialised:  # start every entry on a real code, so none starts dead
            pick = torch.randint(len(flat), (len(self.codebook),), device=flat.device)
            self.codebook.copy_(flat[pick])
            self.ema_sum.copy_(flat[pick])
            self.ema_count.fill_(1.0)
            self.initialised.fill_(True)
            flat, index = self.nearest(z_e.detach())
        onehot = F.one_hot(index, len(self.codebook)).type_as(flat)
        self.ema_count.mul_(DECAY).add_(onehot.sum(0), alpha=1 - DECAY)
        self.ema_sum.mul_(DECAY).add_(onehot.T @ flat, alpha=1 - DECAY)
        n = self.ema_count.sum()
        count = (self.ema_count + EPS) / (n + len(self.codebook) * EPS) * n  # Laplace smoothing
        self.codebook.copy_(self.ema_sum / count.unsqueeze(1))

    def loss(self, x):
        z_e = self.encoder(x)
        if self.training:
            self.update_codebook(z_e)
        q = self.quantise(z_e)
        z = z_e + (q - z_e).detach()          # straight-through estimator
        recon = bce_per_image(self.decode_logits(z), x)
        commit = F.mse_loss(z_e, q, reduction="sum") / x.shape[0]
        return {"loss": recon + self.commitment * commit, "recon": recon, "commit": commit}


@register_model("vq_vae", description="VQ-VAE, dense, product-quantised code (groups of 4, K=128, EMA codebook); code = quantised vector",
                paper="van den Oord et al. 2017, https://arxiv.org/abs/1711.00937", family="dense",
                # commitment 0.25 as in the paper
                tunables={"codebook_size": Knob(128, 16, 1024, integer=True),
                          "commitment": Knob(0.25, 0.05, 2.0)})
def vq_vae(input_shape, latent_dim, codebook_size, commitment):
    return VQVAE(input_shape, latent_dim, codebook_size=int(codebook_size), commitment=commitment)
