"""Shared fixtures. Tests run offline on small data the project makes (digits, tiny IDX files);
only tests/test_real_mnist.py goes through the real MNIST loader."""
import os
import socket

import pytest

# Under pytest-xdist (`-n`, on by default in pyproject.toml) each test process gets its share of
# the cores: torch's and numba's default of one thread per core in every process oversubscribes
# them (small-op training ran ~28x slower with 2 threads on 2 busy cores). Set before any test
# module imports torch; the runs the tests start in subprocesses inherit it.
if workers := int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")):
    share = str(max(1, (os.cpu_count() or 1) // workers))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(name, share)
os.environ.setdefault("AEBENCH_QUIET", "1")
# Small test grids run serially (spawning workers costs more than it saves on digits); the
# tests that exercise worker processes pass --workers explicitly.
os.environ["AEBENCH_WORKERS"] = "1"


@pytest.fixture(autouse=True)
def loopback_only(request, monkeypatch):
    """Tests talk only to 127.0.0.1; the one real-loader test (marked slow) may fetch MNIST."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    real_connect = socket.socket.connect

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to reach {address}: only loopback is allowed")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield


@pytest.fixture
def scratch_registry():
    """Yield a function that registers a temporary model and removes it afterwards."""
    from bench.model_api import MODELS
    from bench.plugins import load_all_models

    load_all_models()
    added = []

    def add(name, builder, **meta):
        MODELS.register(name, **meta)(builder)
        added.append(name)

    yield add
    for name in added:
        MODELS.remove(name)
