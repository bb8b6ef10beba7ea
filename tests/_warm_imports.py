"""What the warm fork server of tests/warm_runs.py imports once: the libraries every run imports
(nearly all of a run's start-up time), and nothing of aebench, so each forked run imports and
registers the code under test itself (unless the benchmark's own worker fork server came first:
tests/warm_runs.py). Importing starts no thread pool; running anything would."""
import matplotlib

matplotlib.use("Agg")  # as bench.report.figures does, before pyplot

import matplotlib.pyplot  # noqa: E402,F401
import pandas  # noqa: E402,F401
import scipy.stats  # noqa: E402,F401
import seaborn  # noqa: E402,F401
import sklearn.cluster  # noqa: E402,F401
import sklearn.decomposition  # noqa: E402,F401
import sklearn.linear_model  # noqa: E402,F401
import sklearn.metrics  # noqa: E402,F401
import sklearn.mixture  # noqa: E402,F401
import sklearn.neighbors  # noqa: E402,F401
import torch  # noqa: E402,F401
import torch._dynamo  # noqa: E402,F401  (torch.optim's first parameter group imports it)
import torch.utils.flop_counter  # noqa: E402,F401
