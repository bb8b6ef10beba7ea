"""Fashion-MNIST and KMNIST through torchvision's real download and IDX parsing, from a
loopback mirror holding small files the test writes; then from the cache they leave behind."""
import numpy as np
import pytest
import torchvision

from bench.data import datasets as data_module
from bench.data.datasets import load_dataset
from bench.data.sources import DataUnavailableError
from tests.idx_server import serve, tiny_mnist, write_idx_gz


@pytest.mark.parametrize("name, cls", [("fashion_mnist", "FashionMNIST"), ("kmnist", "KMNIST")])
def test_torchvision_sets_download_verify_and_cache(tmp_path, monkeypatch, name, cls):
    arrays = tiny_mnist(40, 20, seed=5)
    resources = write_idx_gz(arrays, tmp_path / "mirror")
    entry = data_module.TORCHVISION_SETS[name]
    monkeypatch.setitem(data_module.TORCHVISION_SETS, name, (*entry[:2], (40, 20), entry[3]))
    monkeypatch.setattr(getattr(torchvision.datasets, cls), "resources", resources)
    with serve(tmp_path / "mirror") as (url, _):
        monkeypatch.setattr(getattr(torchvision.datasets, cls), "mirrors", [url])
        got = load_dataset(name, tmp_path / "cache")
    assert got.name == name and got.input_shape == (1, 28, 28)
    np.testing.assert_array_equal(got.x_train[:, 0], arrays["x_train"])
    np.testing.assert_array_equal(got.y_test, arrays["y_test"])
    # the server is gone: the second load comes from the verified uint8 cache
    again = load_dataset(name, tmp_path / "cache")
    np.testing.assert_array_equal(again.x_test, got.x_test)


def test_unavailable_set_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(DataUnavailableError, match=r"could not obtain fashion_mnist(.|\n)*"
                                                   r"torchvision/FashionMNIST/raw"):
        load_dataset("fashion_mnist", tmp_path)
