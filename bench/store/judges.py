"""Where judges live: shipped with aebench, in the results store, and in the data cache.

Why shipped: FID compares between papers because everyone scores with the same Inception
network. aebench ships its MNIST judge (bench/judges/mnist-v1/, trained by
`python -m bench.tools.ship_judge mnist`), so fid_judge and interp_confidence mean the same on every
machine and no first run trains one. Its judge.json's SHA-256 is pinned below, and judge.json
holds judge.pt's, so both are checked before torch.load (weights_only=True) reads anything.

A dataset without a shipped judge trains one on first use (bench.judge.ensure_judge), keyed by
its data and code, and keeps it in the data cache (`<data root>/judges/`) for later results
directories; every results directory holds a copy of the judge it used, so it stays
self-contained. This file only moves and checks files: training and loading are the judge's.

    adopt_shipped_judge(folder, data) or ...   # the training side: bench.judge.ensure_judge
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import atomic
from bench.store.run_record import StoreError

log = logging.getLogger(__name__)
FAILED = "failed.json"
FILES = ("judge.pt", "judge.json")  # judge.json last: the finished marker


@dataclass(frozen=True)
class ShippedJudge:
    name: str     # its folder under bench/judges/, and in every results store
    sha256: str   # of its judge.json, which holds judge.pt's SHA-256


SHIPPED_ROOT = Path(__file__).parents[1] / "judges"
SHIPPED = {"mnist": ShippedJudge("mnist-v1", "6e8b3d4040d25655f29b9a32bb52859914dce24b544e77fb5270bcba216c30c5")}


class ShippedJudgeError(StoreError):
    """A judge shipped with aebench does not match its pinned SHA-256."""


def is_trained(folder: Path) -> bool:
    return (Path(folder) / "judge.json").exists()  # written last: the "finished" marker


def damage(folder: Path) -> str | None:
    """What is wrong with a trained judge's files (their SHA-256 is in judge.json), or None."""
    try:
        info = json.loads((Path(folder) / "judge.json").read_text())
        for name, digest in info.get("files", {}).items():
            if atomic.sha256_file(Path(folder) / name) != digest:
                return f"{name} does not match its SHA-256"
    except (OSError, ValueError) as exc:
        return f"judge.json cannot be read ({exc})"
    return None


def adopt_shipped_judge(folder: Path, data) -> bool:
    """True when aebench ships a judge for `data`'s dataset; it is then copied into `folder`
    (the results store) after its pinned SHA-256 is checked. A shipped judge that does not match
    its pin is an error, not a reason to train another: a different judge means different
    numbers."""
    shipped = SHIPPED.get(data.name)
    if shipped is None:
        return False
    source = SHIPPED_ROOT / shipped.name
    if problem := shipped_damage(source, shipped.sha256):
        raise ShippedJudgeError(f"the judge shipped in {source} {problem}; restore it with "
                                f"`git checkout -- {source}` (or reinstall aebench)")
    if not is_trained(folder) or damage(folder):
        move_aside_if_damaged(folder)
        for name in FILES:
            atomic.write_bytes(folder / name, (source / name).read_bytes())
    return True


def shipped_damage(source: Path, pin: str) -> str | None:
    """What is wrong with a shipped judge: judge.json against its pin, then judge.pt against
    judge.json (so nothing reaches torch.load unchecked), or None."""
    try:
        if atomic.sha256_file(source / "judge.json") != pin:
            return "has a judge.json that does not match the SHA-256 pinned in bench/store/judges.py"
    except OSError as exc:
        return f"cannot be read ({exc})"
    return damage(source)


def move_aside_if_damaged(folder: Path) -> None:
    if is_trained(folder) and (problem := damage(folder)):
        aside = folder.with_name(folder.name + ".damaged")
        shutil.rmtree(aside, ignore_errors=True)
        folder.rename(aside)
        log.warning("the judge in %s is damaged (%s): moved to %s and replaced", folder, problem, aside)


def publish_judge(folder: Path, cache: Path) -> None:
    """Copy a freshly trained judge into the cache: a whole directory renamed into place, so two
    runs publishing at once cannot mix their files (the second rename fails and is dropped).
    The cache is an optimisation: failing to write it only logs a warning."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache.parent, prefix=f".{cache.name}."))
    except OSError as exc:
        log.warning("could not keep the judge in the data cache %s: %s", cache.parent, exc)
        return
    try:
        for name in FILES:
            shutil.copyfile(folder / name, staging / name)
        os.rename(staging, cache)
    except OSError as exc:
        if not is_trained(cache):
            log.warning("could not keep the judge in the data cache %s: %s", cache, exc)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def wait_for_judge(folder: Path, timeout: float = 4 * 3600.0, poll: float = 0.5) -> None:
    """Block until the judge in `folder` is trained (it may be training beside the cells, see
    bench.run.shared_inputs); raise if its training failed or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not is_trained(folder):
        failed = Path(folder) / FAILED
        if failed.exists():
            raise RuntimeError(f"the judge classifier could not be trained: "
                               f"{json.loads(failed.read_text()).get('reason', '?')}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the judge classifier in {folder} was not ready after {timeout:.0f} s")
        time.sleep(poll)


