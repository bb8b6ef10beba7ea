"""The judge shipped with aebench: pinned, checked before torch.load reads it, copied into each
results store, and never silently replaced by another judge."""
import shutil
from types import SimpleNamespace

import pytest
import torch

import bench.store.judges as judge_store
from bench import atomic
from bench.judge import load_judge
from bench.store.judges import (SHIPPED, SHIPPED_ROOT, ShippedJudgeError, adopt_shipped_judge,
                               shipped_damage)

MNIST = SimpleNamespace(name="mnist")


def test_the_shipped_mnist_judge_matches_its_pin_and_loads():
    shipped = SHIPPED["mnist"]
    assert shipped_damage(SHIPPED_ROOT / shipped.name, shipped.sha256) is None
    judge, info = load_judge.__wrapped__(SHIPPED_ROOT / shipped.name)
    assert info["shipped"] == shipped.name and info["test_accuracy"] > 0.99
    assert info["trained_with"] == "python -m bench.tools.ship_judge mnist"


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch):
    """A copy of the shipped judges that a test may damage."""
    root = tmp_path / "judges"
    shutil.copytree(SHIPPED_ROOT, root)
    monkeypatch.setattr(judge_store, "SHIPPED_ROOT", root)
    return root / SHIPPED["mnist"].name


def test_a_run_copies_the_shipped_judge_and_repairs_a_damaged_copy(tmp_path, shipped_copy):
    folder = tmp_path / "out" / "judge" / SHIPPED["mnist"].name
    assert adopt_shipped_judge(folder, MNIST)
    assert (folder / "judge.pt").read_bytes() == (shipped_copy / "judge.pt").read_bytes()
    (folder / "judge.pt").write_bytes(b"damaged")
    assert adopt_shipped_judge(folder, MNIST)
    assert (folder / "judge.pt").read_bytes() == (shipped_copy / "judge.pt").read_bytes()
    assert not adopt_shipped_judge(folder, SimpleNamespace(name="fashion_mnist"))  # none shipped


@pytest.mark.parametrize("damaged", ["judge.pt", "judge.json"])
def test_a_shipped_judge_that_does_not_match_its_pin_is_an_error_before_torch_load(
        tmp_path, shipped_copy, monkeypatch, damaged):
    path = shipped_copy / damaged
    path.write_bytes(path.read_bytes().replace(b"0", b"1", 1))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    with pytest.raises(ShippedJudgeError, match="git checkout"):
        adopt_shipped_judge(tmp_path / "out", MNIST)
    assert not (tmp_path / "out" / "judge.pt").exists()


def test_the_pin_covers_the_weights_through_judge_json(shipped_copy):
    info = atomic.sha256_file(shipped_copy / "judge.pt")
    assert info in (shipped_copy / "judge.json").read_text()


def test_a_retrained_judge_reproduces_the_shipped_one_when_their_accuracies_tie():
    """`ship_judge --check` on another machine: weights that differ in rounding still pass when
    the retrained judge is as accurate (McNemar's exact test), and fail when it is worse."""
    import numpy as np

    from bench.tools.ship_judge import accuracy_tie

    y = np.random.default_rng(0).integers(0, 10, 10_000)

    def wrong_on(start, stop):
        predicted = y.copy()
        predicted[start:stop] = (y[start:stop] + 1) % 10
        return predicted

    shipped = wrong_on(0, 85)                      # accuracy 0.9915
    drifted = accuracy_tie(y, shipped, wrong_on(40, 119))
    assert drifted["accuracy"] == (0.9915, 0.9921) and drifted["only_right"] == (34, 40)
    assert drifted["agreement"] == 0.9926 and drifted["tie"] and drifted["p_value"] > 0.5
    worse = accuracy_tie(y, shipped, wrong_on(0, 200))  # 115 more mistakes, none fewer
    assert worse["only_right"] == (115, 0) and not worse["tie"]
    same = accuracy_tie(y, shipped, shipped)
    assert same["agreement"] == 1.0 and same["p_value"] == 1.0 and same["tie"]
