"""Registry-driven: every registered model gets these tests for free (timm's pattern)."""
import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA as SkPCA

from bench.model_api import Autoencoder, build_model
from bench.plugins import load_all_models

REGISTRY = load_all_models()
ALL = REGISTRY.names("*")
TRAINABLE = [n for n in ALL if REGISTRY.get(n).meta.get("family") != "baseline"]
SHAPES = [(1, 28, 28), (1, 8, 8)]


def batch(shape, n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *shape, generator=g)


def test_the_foundation_models_are_registered():
    assert {"dense_ae", "conv_ae", "denoising_ae", "vae", "pca", "raw"} <= set(ALL)
    for name in ALL:
        assert REGISTRY.get(name).description, f"{name} has no description"


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[1]}x{s[2]}")
@pytest.mark.parametrize("name", TRAINABLE)
def test_shapes_and_finite_loss(name, shape):
    torch.manual_seed(0)
    model = build_model(name, shape, latent_dim=6)
    assert isinstance(model, Autoencoder) and model.trainable
    x = batch(shape)
    model.eval()
    with torch.no_grad():
        z = model.encode(x)
        x_hat = model.decode(z)
    assert z.shape == (16, 6)
    assert x_hat.shape == x.shape
    assert float(x_hat.min()) >= 0.0 and float(x_hat.max()) <= 1.0
    terms = model.loss(x)
    assert terms["loss"].ndim == 0 and torch.isfinite(terms["loss"])


@pytest.mark.parametrize("name", TRAINABLE)
def test_encode_is_deterministic_in_eval_mode(name):
    torch.manual_seed(0)
    model = build_model(name, (1, 28, 28), latent_dim=4).eval()
    x = batch((1, 28, 28))
    with torch.no_grad():
        assert torch.equal(model.encode(x), model.encode(x))


@pytest.mark.parametrize("name", TRAINABLE)
def test_one_optimizer_step_lowers_the_loss(name):
    torch.manual_seed(0)
    model = build_model(name, (1, 28, 28), latent_dim=8)
    x = batch((1, 28, 28), n=64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)  # a small step: a descent test, not a race

    def loss():  # same noise draw each time, so the comparison is about the weights
        torch.manual_seed(123)
        return model.loss(x)["loss"]

    before = loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    after = loss()  # not under no_grad: the contractive penalty differentiates the encoder
    assert after.item() < before.item()


def test_pca_matches_scikit_learn():
    x = batch((1, 8, 8), n=300, seed=1)
    flat = x.flatten(1).numpy().astype(np.float64)
    model = build_model("pca", (1, 8, 8), latent_dim=5)
    model.fit(x)
    sk = SkPCA(n_components=5, svd_solver="full").fit(flat)
    ours = model.encode(x).numpy()
    theirs = sk.transform(flat)
    signs = np.sign((ours * theirs).sum(0))  # components are defined up to sign
    np.testing.assert_allclose(ours * signs, theirs, atol=1e-4)
    recon = np.clip(sk.inverse_transform(theirs), 0, 1)
    np.testing.assert_allclose(model.decode(model.encode(x)).flatten(1).numpy(), recon, atol=1e-4)


def test_raw_code_is_the_pixels_and_has_no_decoder():
    x = batch((1, 8, 8))
    model = build_model("raw", (1, 8, 8), latent_dim=3)
    assert not model.has_decoder and not model.trainable
    assert torch.equal(model.encode(x), x.flatten(1))


def test_conv_model_rejects_shapes_it_cannot_handle():
    with pytest.raises(ValueError, match="divisible by 4"):
        build_model("conv_ae", (1, 10, 10), latent_dim=4)
