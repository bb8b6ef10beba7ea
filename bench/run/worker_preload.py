"""What the fork server of the worker processes (`bench.run.parallel.worker_context`) imports
once, so that every worker forked from it starts with it: torch (its compiler stack and FLOP
counter, which the first training step imports), the built-in models and evaluators (with
scikit-learn and scipy). Imports only: entry points and `--plugin` files are
each worker's own business (`init_worker`), since what is installed may differ by the time a
worker starts. Nothing here computes or starts a thread pool. A failure is left to the
workers, which import what they need themselves."""
import contextlib

with contextlib.suppress(Exception):
    import torch._dynamo  # noqa: F401  (torch.optim's first parameter group imports it)
    import torch.utils.flop_counter  # noqa: F401  (every trained cell counts its FLOPs)

    from bench.plugins import import_builtin_evaluators, import_builtin_models
    from bench.run import cell  # noqa: F401

    import_builtin_models()
    import_builtin_evaluators()
