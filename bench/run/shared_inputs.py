"""What every cell's evaluators share beyond the data: the outlier sets and the judge, prepared
once in the main process and handed to each cell (and each worker process).

Why apart from the runner: the runner says in what order a run happens; this says how the
shared inputs are found, loaded or trained (and trained beside the cells when workers run).

    shared, judge_thread = shared_inputs(cfg, out, data, device, evaluators, timings, beside)
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bench.config import RunConfig
from bench.data.datasets import ImageData, default_data_root, load_dataset
from bench.evaluators import Evaluator
from bench.progress import status

log = logging.getLogger(__name__)


@dataclass
class SharedInputs:
    """What every cell's evaluators share beyond the data: computed once in the main process,
    then handed to each cell (and each worker process)."""
    judge_dir: Path | None = None
    outliers: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # shown in the report's "What was run"


def shared_inputs(cfg: RunConfig, out: Path, data: ImageData, device: torch.device,
                  evaluators: list[Evaluator], timings: dict[str, float], judge_beside_cells: bool
                  ) -> tuple[SharedInputs, threading.Thread | None]:
    """The outlier sets the evaluators declare and the judge. With `judge_beside_cells` (cells in worker processes),
    the judge trains in a one-thread background thread of this otherwise idle process while the
    workers train the models; the evaluators that need it run last in each cell and wait for
    it. Serially it cost ~140 s of 2-thread wall time before the first cell (two threads are
    only ~1.2x one on these small networks)."""
    shared = SharedInputs()
    users: dict[str, list[str]] = {}  # outlier set -> the evaluators that declare it
    for e in evaluators:
        for name in e.outlier_sets.get(data.name, ()):
            users.setdefault(name, []).append(e.name)
    for name in sorted(users):
        try:
            shared.outliers[name] = load_dataset(name, cfg.data_root).x_test
        except Exception as exc:  # optional: the evaluators run without it
            lines = [line.strip(" -") for line in str(exc).splitlines()] or [type(exc).__name__]
            tried = "; ".join(lines[1:-1]) or lines[0]
            shared.notes.append(f"{name} was not available as an outlier set, so "
                                f"{', '.join(users[name])} ran without it (tried: {tried}). "
                                + (lines[-1] if len(lines) > 1 else ""))
            log.warning("%s", shared.notes[-1])
    if not any(e.needs_judge for e in evaluators):
        return shared, None
    from bench.judge import adopt_cached_judge, cached_judge_folder, ensure_judge, judge_folder
    from bench.store.judges import adopt_shipped_judge

    shared.judge_dir = judge_folder(out, data)
    cache = cached_judge_folder(Path(cfg.data_root or default_data_root()) / "judges", data)
    if adopt_shipped_judge(shared.judge_dir, data) or adopt_cached_judge(shared.judge_dir, cache):
        return shared, None  # shipped with aebench, or trained by this or an earlier run
    if judge_beside_cells:
        thread = threading.Thread(target=_judge_in_background, name="judge", daemon=True,
                                  args=(out, data, device, cache, timings))
        thread.start()
        return shared, thread
    start = time.perf_counter()
    ensure_judge(out, data, device, cache)
    status("")
    timings["judge"] = time.perf_counter() - start
    return shared, None


def _judge_in_background(out: Path, data: ImageData, device: torch.device, cache: Path,
                         timings: dict[str, float]) -> None:
    from bench.judge import ensure_judge

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers hold the other cores
    start = time.perf_counter()
    try:
        ensure_judge(out, data, device, cache)
    except Exception:  # recorded in failed.json: the waiting evaluators fail with the reason
        log.exception("the judge classifier could not be trained")
    finally:
        status("")  # the judge is done: off the progress display
        timings["judge (beside the cells)"] = time.perf_counter() - start
        torch.set_num_threads(threads)
