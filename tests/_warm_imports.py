"""What the warm fork server of tests/warm_runs.py imports once: what every run imports before
its first cell, which is what the benchmark's own worker fork server imports (torch, the
built-in models and evaluators with scikit-learn and scipy) plus the report (pandas,
matplotlib, seaborn). Imports only: entry points and `--plugin` files stay each run's own.
Importing starts no thread pool; running anything would."""
import bench.report.build  # noqa: F401
import bench.run.worker_preload  # noqa: F401
