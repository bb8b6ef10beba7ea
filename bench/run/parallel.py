"""Run cells in worker processes, one torch thread each.

Why: the models here are small, so two threads in one process were only ~1.2x one thread,
while two single-thread processes side by side trained 21% (conv_ae) to 53% (dense_ae) more
images per second in total (measured with `python -m bench.tools.perf`, README). Each worker loads
the data once and then runs whole cells through the same `execute_cell` as the serial path, so
results do not depend on the number of workers.

    reports = run_parallel(cfg, out, cells, evaluators, shared, workers, plugin_files)  # runner.run
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from bench.config import CellConfig, RunConfig

worker_state: dict = {}  # what `init_worker` loaded, once per worker process


def worker_context():
    """Where the workers come from: a fork server where the platform has one, else fresh
    interpreters (spawn; Windows).

    Why a fork server: each spawned worker spent ~6 s of CPU importing torch, scikit-learn and
    aebench before its first cell. The server (a fresh interpreter, started with the workers'
    one-thread environment) imports them once (`bench.run.worker_preload`) and forks every
    worker from there. It runs nothing before forking, so no thread pool is copied half-started
    (why the workers are never forked from the run itself, which has trained by then)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bench.run.worker_preload"])
    return context


def _exit_with_parent() -> None:
    """A worker whose run was killed (SIGKILL leaves no time to stop the pool) exits too,
    instead of training on as an orphan. multiprocessing keeps a pipe from the run to each
    worker, whatever the start method (a forked worker's parent is the fork server, which lives
    as long as any worker does), and the worker's end of it is readable once the run is gone."""
    multiprocessing.parent_process().join()
    os._exit(1)


def init_worker(cfg: RunConfig, plugin_files: list[str], evaluator_names: list[str],
                watch_parent: bool, status_queue=None) -> None:
    """Load models, plugins, evaluators and data once per worker (pool process or Ray worker);
    with `status_queue`, what the worker is doing goes to the main process's progress display;
    with `watch_parent`, the worker exits when its parent does."""
    import torch

    from bench.progress import send_status_to

    from bench.data.datasets import load_dataset, to_float
    from bench.plugins import load_all_evaluators
    from bench.plugins import load_all_models, load_plugin_file

    if watch_parent:  # not under Ray, which manages its own workers' lifetime
        threading.Thread(target=_exit_with_parent, daemon=True).start()
    torch.set_num_threads(1)
    send_status_to(status_queue)
    load_all_models()
    for path in plugin_files:
        load_plugin_file(path)
    registry = load_all_evaluators()
    data = load_dataset(cfg.dataset, cfg.data_root).limited(cfg.limit)
    worker_state.update(cfg=cfg, evaluator_names=list(evaluator_names), data=data, x_train=to_float(data.x_train), x_test=to_float(data.x_test),
                  evaluators=[registry.get(n).builder() for n in evaluator_names])


def run_in_worker(out: str, cell: dict, force: bool, shared):
    from bench.run.cell import execute_cell

    s = worker_state
    return execute_cell(Path(out), CellConfig.from_dict(cell), force, s["data"], s["x_train"],
                        s["x_test"], s["evaluators"], shared)


# Every thread pool a worker may start (OpenMP, MKL, OpenBLAS, numba): one thread each. Set in
# the environment the workers are spawned with, since torch.set_num_threads(1) alone left the
# other pools at 2 threads: with 2 workers, training ran 2-5x *slower* than serial (measured).
SINGLE_THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                            "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")}


def run_parallel(cfg: RunConfig, out: Path, cells: list[CellConfig], evaluators, shared,
                 workers: int, files: list[str], status_queue=None):
    """Yield each cell's report as it finishes (for the progress display), in finishing order."""
    context = worker_context()
    saved = {k: os.environ.get(k) for k in SINGLE_THREAD_ENV}
    os.environ.update(SINGLE_THREAD_ENV)
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker,
                                 initargs=(cfg, files, [e.name for e in evaluators],
                                           True, status_queue)) as pool:
            futures = [pool.submit(run_in_worker, str(out), c.to_dict(), cfg.force, shared) for c in cells]
            try:
                for future in as_completed(futures):
                    yield future.result()
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
