import json

import pytest
import torch

import bench.train
from bench.config import ConfigError
from bench.model_api import Autoencoder, build_model
from bench.plugins import load_all_models
from bench.train import DivergedError, pick_device, train
from bench.train_spec import TrainSpec

load_all_models()


def spec(mixed: bool = False, **settings) -> TrainSpec:
    """A cell's spec: validated, precision resolved."""
    return TrainSpec(**settings).validated().resolved(mixed)


class Exploding(Autoencoder):
    """A model whose loss turns NaN in its second epoch."""

    def __init__(self, input_shape, latent_dim):
        super().__init__(input_shape, latent_dim)
        self.w = torch.nn.Parameter(torch.ones(1))
        self.calls = 0

    def encode(self, x):
        return x.flatten(1)[:, : self.latent_dim] * self.w

    def loss(self, x):
        self.calls += 1
        value = (self.encode(x) ** 2).mean()
        return {"loss": value * (float("nan") if self.calls > 2 else 1.0)}


def test_nan_loss_raises_with_the_epoch():
    x = torch.rand(20, 1, 4, 4)
    with pytest.raises(DivergedError, match="epoch 2") as info:
        train(Exploding((1, 4, 4), 2), x, spec(epochs=5, batch_size=10), seed=0)
    assert info.value.epoch == 2


def test_same_seed_same_weights_and_history():
    x = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = build_model("vae", (1, 8, 8), 4)
        history = train(model, x, spec(epochs=2, batch_size=16, lr=1e-3), seed=7)
        runs.append((model.state_dict(), [h["loss"] for h in history]))
    (w1, h1), (w2, h2) = runs
    assert h1 == h2
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


def test_training_lowers_the_loss_over_epochs():
    x = torch.rand(256, 1, 8, 8, generator=torch.Generator().manual_seed(0)).round()
    torch.manual_seed(0)
    history = train(build_model("dense_ae", (1, 8, 8), 8), x, spec(epochs=4, batch_size=32), seed=0)
    assert history[-1]["loss"] < history[0]["loss"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]


def test_device_auto_picks_cuda_only_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="not available"):  # a usage error: exit 2
        pick_device("cuda")


class DtypeRecorder(torch.nn.Module):
    """A linear model that records the dtype its layer computes in."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(16, 16)
        self.seen: set[torch.dtype] = set()

    def loss(self, x):
        h = self.lin(x.flatten(1))
        self.seen.add(h.dtype)
        return {"loss": (h.float() - x.flatten(1)).square().mean()}


@pytest.mark.parametrize("amp, dtype", [(False, torch.float32), (True, torch.bfloat16)])
def test_amp_runs_the_forward_pass_in_low_precision_and_keeps_float32_weights(amp, dtype):
    x = torch.rand(64, 1, 4, 4)
    model = DtypeRecorder()
    history = train(model, x, spec(epochs=15, batch_size=16, lr=1e-2, mixed=amp), seed=0)
    assert model.seen == {dtype}  # bfloat16 on CPU; float16 with gradient scaling on CUDA
    assert model.lin.weight.dtype == torch.float32
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]


def test_precision_is_part_of_the_cell_key():
    from bench.config import RunConfig

    keys = {RunConfig.of(precision=p).validated().cell("dense_ae", 0, 32).key for p in ("float32", "mixed")}
    assert len(keys) == 2
    assert (RunConfig.of().validated().cell("dense_ae", 0, 32, mixed=True).key
            == RunConfig.of(precision="mixed").validated().cell("dense_ae", 0, 32).key)


@pytest.mark.parametrize("precision, device, native, mixed", [
    ("auto", "cpu", True, True), ("auto", "cpu", False, False), ("auto", "cuda", True, False),
    ("mixed", "cpu", False, True), ("float32", "cpu", True, False)])
def test_auto_precision_is_mixed_only_on_a_cpu_with_native_bfloat16(monkeypatch, precision, device,
                                                                      native, mixed):
    monkeypatch.setattr(bench.train, "native_bfloat16", lambda: native)
    assert bench.train.mixed_precision(precision, torch.device(device)) is mixed


@pytest.mark.parametrize("flags, native, said", [
    (["--precision", "mixed"], False, "computed in bfloat16 autocast"),
    ([], True, "computed in bfloat16 autocast"),
    ([], False, "computed in float32")])
def test_precision_end_to_end_on_cpu(tmp_path, monkeypatch, flags, native, said):
    from bench.cli import main

    monkeypatch.setattr(bench.train, "native_bfloat16", lambda: native)
    out = tmp_path / "run"
    assert main(["--dataset", "digits", "--epochs", "2", "--latent-dim", "8", "--models", "conv_ae,vae",
                 "--evaluators", "reconstruction", *flags, "--out", str(out), "-q"]) == 0
    report = (out / "report.md").read_text()
    assert said in report
    amp = "bfloat16" in said
    assert ("precision=mixed" in report) is amp  # the model cards: each cell's resolved spec
    assert all(json.loads(p.read_text())["train"]["precision"] == ("mixed" if amp else "float32")
               for p in out.glob("cells/*/config.json"))
