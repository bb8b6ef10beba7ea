"""Per-image outcomes stored compactly: bits for 0/1 outcomes, float16 for errors and scores,
uint8 for cluster ids, in a compressed archive.

Why: the outcomes are what paired intervals resample, and a published reference run must carry
them for every cell (5 seeds x 13 models x ~40 metrics x 10,000 test images) in a few MB, so
that a new model can be compared with it without retraining the zoo. Every run stores them the
same way, so a reference's intervals and a fresh run's are computed from the same numbers.
float16 keeps about three significant digits: far finer than any interval it feeds.

    save_outcomes(path, {"probe_acc": correct, "recon_mse": errors}); load_outcomes(path)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.store.records import load_npz, save_npz

FLOAT16_MAX = 6e4  # float16 holds up to 65,504; larger magnitudes stay float32
BITS, SHAPE = "bits__", "shape__"  # key prefixes: a packed 0/1 array and its original shape
SAME = "same__"  # `same__<name>` holds the name of an earlier outcome with identical values


def compact(name: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """The smallest faithful encoding of one outcome array, as archive entries."""
    values = np.asarray(values)
    if values.dtype == bool or (values.dtype.kind in "iu" and values.size and
                                np.isin(values, (0, 1)).all()):
        return {BITS + name: np.packbits(values.astype(bool).ravel()),
                SHAPE + name: np.asarray(values.shape, dtype=np.int64)}
    if values.dtype.kind in "iu":
        low, high = (values.min(), values.max()) if values.size else (0, 0)
        small = np.uint8 if low >= 0 and high <= 255 else np.int16 if -2**15 <= low and high < 2**15 else np.int32
        return {name: values.astype(small)}
    if values.dtype.kind == "f":
        finite = values[np.isfinite(values)]
        fits = not finite.size or np.abs(finite).max() <= FLOAT16_MAX
        return {name: values.astype(np.float16 if fits else np.float32)}
    raise TypeError(f"outcome {name!r} has dtype {values.dtype}: expected numbers or booleans")


def expand(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The outcomes back: 0/1 outcomes as uint8, floats as float32, ids as integers."""
    out = {}
    for key, values in arrays.items():
        if key.startswith(BITS):
            name = key[len(BITS):]
            shape = tuple(arrays[SHAPE + name])
            out[name] = np.unpackbits(values, count=int(np.prod(shape))).reshape(shape)
        elif not key.startswith((SHAPE, SAME)):
            out[key] = values.astype(np.float32) if values.dtype.kind == "f" else values
    for key, original in arrays.items():
        if key.startswith(SAME):
            out[key[len(SAME):]] = out[str(original)]
    return out


def save_outcomes(path: Path, outcomes: dict[str, np.ndarray]) -> None:
    """Each distinct array once (k-means' four scores share one clustering)."""
    arrays, seen = {}, {}
    for name, values in outcomes.items():
        values = np.asarray(values)
        key = (values.dtype.str, values.shape, values.tobytes())
        if key in seen:
            arrays[SAME + name] = np.asarray(seen[key])
            continue
        seen[key] = name
        arrays.update(compact(name, values))
    save_npz(path, arrays, compressed=True)


def load_outcomes(path: Path) -> dict[str, np.ndarray] | None:
    arrays = load_npz(path)
    return None if arrays is None else expand(arrays)
