"""The store's file formats: self-verifying JSON records, numpy archives, and lock files.

Why apart from `bench.store.cell`: the store says which files a cell has and when each is finished;
this says how one file is written and checked, whatever it belongs to.

    write_record(path, {"files": {...}}); record, problem = read_record(path)
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import socket
import time
from pathlib import Path

import numpy as np

from bench import atomic

log = logging.getLogger(__name__)


@contextlib.contextmanager
def file_lock(path: Path, what: str, poll: float = 1.0):
    """Hold the lock file `path` (this host and pid, created atomically) while computing
    `what`: a second run waits here. A lock whose owner is gone (a killed run on this host)
    is taken over; yields whether it waited."""
    me = f"{socket.gethostname()} {os.getpid()}"
    waited = False
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            owner = path.read_text(errors="replace").strip() if path.exists() else ""
            host, _, pid = owner.partition(" ")
            if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
                log.warning("%s: lock of a run that is gone (%s): taken over", what, owner)
                path.unlink(missing_ok=True)
                continue
            if not waited:
                log.info("%s: another run (%s) is computing this cell; waiting for it", what, owner)
                waited = True
            time.sleep(poll)
    with os.fdopen(fd, "w") as f:
        f.write(me)
    try:
        yield waited
    finally:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def save_npz(path: Path, arrays: dict[str, np.ndarray], compressed: bool = False) -> None:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    atomic.write_bytes(path, buffer.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _digest(record: dict) -> str:
    blob = json.dumps({k: v for k, v in record.items() if k != "sha256"}, sort_keys=True, allow_nan=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def write_record(path: Path, record: dict) -> None:
    """A JSON record that verifies itself: its SHA-256 over its own content is inside it."""
    atomic.write_json(path, {**record, "sha256": _digest(record)})


def read_record(path: Path) -> tuple[dict | None, str | None]:
    """(record, None) when it parses and verifies, else (None or the record, what is wrong)."""
    try:
        record = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None, f"{Path(path).name} is missing"
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"{Path(path).name} is not readable JSON ({exc})"
    if not isinstance(record, dict):
        return None, f"{Path(path).name} is not a record"
    if record.get("sha256") != _digest(record):
        return record, f"{Path(path).name} does not match its own SHA-256"
    return record, None
