"""umap-learn, imported once per process with its numba kernels cached on disk.

Why: umap-learn marks few of its numba functions `cache=True`, so every process that embeds
with UMAP compiled the others again: ~8 s before its first embedding on this machine, paid by
each worker of every run and by every test process that evaluates. Turning on numba's own file
cache for them (`Dispatcher.enable_caching`, what `cache=True` does) makes that ~0.4 s from the
second process on, with identical embeddings. numba keys each entry on the source file's time
stamp and size and keeps it beside umap-learn's source (`__pycache__`) or in NUMBA_CACHE_DIR,
so upgrading umap-learn recompiles; where neither is writable, the kernels compile as before.

    umap = umap_module()
"""
from __future__ import annotations

import functools
import sys


@functools.cache
def umap_module():
    import umap  # heavy import (numba): only when an evaluator needs it
    from numba.core.dispatcher import Dispatcher

    kernels = [obj for name, module in list(sys.modules.items())
               if name == "umap" or name.startswith("umap.")
               for obj in vars(module).values() if isinstance(obj, Dispatcher)]
    for kernel in kernels:
        try:
            kernel.enable_caching()
        except RuntimeError:  # numba found no writable cache directory
            break
    return umap
