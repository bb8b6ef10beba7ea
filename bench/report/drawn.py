"""Reuse a drawn PNG when the figure to draw is exactly one drawn before.

Why: laying out and rasterising text is most of a report's time (figures in the README), and a
resumed, repaired or `--report-only` run mostly redraws figures from unchanged data.

The key is the figure itself before layout, pickled: every artist with its data and style, plus
the rcParams, the savefig settings and matplotlib's version, which is everything the pixels
depend on. So a figure whose data changed in one value is drawn again, and a hit gives the
bytes a fresh drawing gives. (Transforms pickle their parents keyed by `id()`, which differs
between processes; the key keeps the parents in order instead.)

Drawn PNGs live in `figures/.drawn/` of the results directory, named `<key>-<sha256>.png`; a
file whose bytes do not match its name is damaged, deleted and drawn again. A build removes the
files it did not use, so the folder holds one report's figures.

    with drawn_figures(out / "figures" / ".drawn"):
        png = png_bytes(fig)   # bench.report.figures: looks here before drawing
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
from pathlib import Path
from typing import Callable

import matplotlib
from matplotlib.transforms import TransformNode

from bench import atomic

_active: list["DrawnFigures"] = []


class _KeyPickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, TransformNode):
            reduced = list(obj.__reduce_ex__(5))
            state = dict(reduced[2])
            state["_parents"] = list(state.get("_parents", {}).values())  # not their id()s
            reduced[2] = state
            return tuple(reduced)
        return NotImplemented


def figure_key(fig, settings: dict) -> str | None:
    """SHA-256 of everything the PNG depends on; None when the figure cannot be pickled (a
    plugin's figure may hold anything), which means: draw it."""
    buffer = io.BytesIO()
    try:
        _KeyPickler(buffer, protocol=5).dump(fig)
    except Exception:  # noqa: BLE001 - any pickling failure just means no reuse
        return None
    buffer.write(repr((matplotlib.__version__, sorted(settings.items()),
                       sorted(matplotlib.rcParams.items()))).encode())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


class DrawnFigures:
    """The PNGs of one results directory, by key; counts hits and draws for the tests."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.used: set[Path] = set()
        self.hits = self.draws = 0

    def get(self, key: str) -> bytes | None:
        for path in self.folder.glob(f"{key[:32]}-*.png"):
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # pruned by a simultaneous run on the same directory
                continue
            if path.stem.endswith("-" + hashlib.sha256(data).hexdigest()[:32]):
                self.used.add(path)
                self.hits += 1
                return data
            path.unlink(missing_ok=True)  # damaged: draw again
        return None

    def put(self, key: str, data: bytes) -> None:
        path = self.folder / f"{key[:32]}-{hashlib.sha256(data).hexdigest()[:32]}.png"
        atomic.write_bytes(path, data)
        self.used.add(path)
        self.draws += 1

    def prune(self) -> None:
        for path in self.folder.glob("*.png"):
            if path not in self.used:
                path.unlink(missing_ok=True)


@contextlib.contextmanager
def drawn_figures(folder: Path):
    """Within the block, `reuse_or_draw` looks in `folder` first; unused files go at the end."""
    cache = DrawnFigures(folder)
    _active.append(cache)
    try:
        yield cache
    finally:
        _active.pop()
    cache.prune()  # only after a build that finished: an interrupted one keeps every file


def reuse_or_draw(fig, settings: dict, draw: Callable[[], bytes]) -> bytes:
    """`draw()`'s PNG of `fig`, or the one drawn before for the same figure and settings."""
    cache = _active[-1] if _active else None
    key = figure_key(fig, settings) if cache else None
    if key is None:
        return draw()
    data = cache.get(key)
    if data is None:
        data = draw()
        cache.put(key, data)
    return data
