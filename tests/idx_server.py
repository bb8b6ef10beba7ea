"""Helpers for the data-source tests: tiny IDX files in MNIST's layout, served on loopback.

Why: the mirror path (torchvision's real download, MD5 check and IDX parsing) must be tested
without the internet; a 127.0.0.1 server holding files the test wrote stands in for a mirror.
"""
from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import struct
import threading
from pathlib import Path

import numpy as np

NAMES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
         "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def tiny_mnist(n_train: int = 40, n_test: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, n_test).astype(np.uint8)}


def write_idx_gz(arrays: dict[str, np.ndarray], folder: Path) -> list[tuple[str, str]]:
    """Write the four .gz files; return torchvision-style resources (filename, md5)."""
    folder.mkdir(parents=True, exist_ok=True)
    resources = []
    for key, name in NAMES.items():
        blob = gzip.compress(idx_bytes(arrays[key]), mtime=0)
        (folder / f"{name}.gz").write_bytes(blob)
        resources.append((f"{name}.gz", hashlib.md5(blob).hexdigest()))
    return resources


@contextlib.contextmanager
def serve(folder: Path):
    """An HTTP server on 127.0.0.1 (ephemeral port) serving `folder`; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).requests.append(self.path)
        super().do_GET()
