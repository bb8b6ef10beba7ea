"""`--executor ray`: every cell a Ray task, writing into the same results store as a local run.

Why Ray: a grid that outgrows one machine should not need rewriting. Each task runs the very
`execute_cell` the local executor runs (same store, same atomic files, same resume rules), so a
local and a Ray run of one grid give the same `results.csv`, and an interrupted Ray sweep resumes
where it stopped. Without `--ray-address` a local Ray instance is started on 127.0.0.1; with
one, the run joins that cluster, and `--out` must then be a directory every node can write (a
shared filesystem), because tasks write their cells where they run.

    reports = run_ray(cfg, out, cells, evaluators, shared, plugin_files)
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from bench.config import CellConfig, ConfigError, RunConfig

INSTALL_HINT = "pip install -e .[ray]  (or: pip install 'ray>=2.9')"


def require_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def _cell_task(cfg: RunConfig, out: str, cell: dict, evaluator_names: list[str], shared,
               plugin_files: list[str]):
    """Runs on a Ray worker: load what the cell needs (once per worker process), run it."""
    from bench.run.parallel import init_worker, run_in_worker, worker_state

    # a Ray worker outlives a phase: tuning's trials and the grid evaluate different sets
    if (worker_state.get("cfg"), worker_state.get("evaluator_names")) != (cfg, evaluator_names):
        init_worker(cfg, plugin_files, evaluator_names, watch_parent=False)
    return run_in_worker(out, cell, cfg.force, shared)


@contextmanager
def ray_session(cfg: RunConfig):
    """Ray for the length of the block: started here (joining `--ray-address`, or a private
    instance on loopback) and shut down at the end, unless one was running already. The runner
    holds one around tuning and the grid, so Ray starts once per run."""
    ray = require_ray()
    started_here = not ray.is_initialized()
    if started_here:
        if cfg.ray_address:
            ray.init(address=cfg.ray_address, log_to_driver=False)
        else:  # a private local instance, on loopback only
            ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()


def run_ray(cfg: RunConfig, out: Path, cells: list[CellConfig], evaluators, shared,
            plugin_files: list[str]):
    """Yield each cell's report as its task finishes."""
    with ray_session(cfg) as ray:
        gpu = 1 if cfg.device.startswith("cuda") else 0
        task = ray.remote(num_cpus=1, num_gpus=gpu, max_retries=0)(_cell_task)
        names = [e.name for e in evaluators]
        refs = [task.remote(cfg, str(Path(out).resolve()), c.to_dict(), names, shared, plugin_files)
                for c in cells]
        try:
            pending = refs
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        except KeyboardInterrupt:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise
