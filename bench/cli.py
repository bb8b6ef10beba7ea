"""Command line: `python run_all.py [options]`. Decides what a person sees and the exit code.

Exit codes: 0 every cell succeeded; 1 a cell failed (the report is still written) or the data
could not be had; 2 bad usage (unknown name, bad value); 130 interrupted (finished cells are
kept, and the same command resumes).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bench.config import ConfigError, RunConfig
from bench.registry import UnknownNameError

log = logging.getLogger("aebench")
DEFAULTS = RunConfig()


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line starting `error:` (exit 2), like every other."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see --help)\n")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="run_all.py", description="Train autoencoders uniformly on MNIST and compare their codes.")
    p.add_argument("--models", default="*", help="comma-separated fnmatch patterns (default: all)")
    p.add_argument("--exclude", default="", help="comma-separated patterns to leave out")
    p.add_argument("--evaluators", default="default",
                   help="comma-separated evaluator patterns; 'default' is every evaluator not marked "
                        "opt-in (e.g. default,anomaly_oneclass)")
    p.add_argument("--epochs", type=_int, default=DEFAULTS.epochs)
    p.add_argument("--budget-flops", type=_flops, default=None, metavar="FLOPS",
                   help="instead of --epochs: every model trains for as many epochs as this many "
                        "training FLOPs buy it (e.g. 2e14), so cheap models get more epochs")
    p.add_argument("--batch-size", type=_int, default=DEFAULTS.batch_size)
    p.add_argument("--lr", type=float, default=DEFAULTS.lr, help="Adam learning rate, every model")
    p.add_argument("--latent-dim", type=_int_list, default=DEFAULTS.latent_dims,
                   help="latent size(s), e.g. 32 or 8,16,32")
    p.add_argument("--seeds", type=_int_list, default=DEFAULTS.seeds, help="e.g. 0,1,2")
    p.add_argument("--dataset", default=",".join(DEFAULTS.datasets),
                   help="mnist, fashion_mnist, kmnist, emnist_digits or digits; several "
                        "(comma-separated) run one grid per dataset under --out")
    p.add_argument("--limit", type=_int, default=None, help="first N train and N test images")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--workers", type=_workers, default=os.environ.get("AEBENCH_WORKERS", "auto"),
                   help="cells run in parallel CPU processes, one thread each; 'auto' (default, "
                        "or $AEBENCH_WORKERS): one per core, 1 on CUDA")
    p.add_argument("--executor", default="local", choices=["local", "ray"],
                   help="local (default): cells in this machine's processes; ray: every cell a Ray task")
    p.add_argument("--ray-address", default=None,
                   help="join this Ray cluster (default with --executor ray: a local instance on 127.0.0.1)")
    p.add_argument("--amp", action="store_true",
                   help="mixed-precision training: float16 with gradient scaling on CUDA, "
                        "bfloat16 on CPU (faster only on CPUs with bfloat16 instructions)")
    p.add_argument("--out", default=None, help="results directory (default reports/<run-name>)")
    p.add_argument("--data-root", default=None, help="data cache (default $AEBENCH_DATA or ~/.cache/aebench)")
    p.add_argument("--force", action="store_true", help="recompute cells even if finished")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from --out, no training")
    p.add_argument("--config", metavar="FILE.toml", help="a TOML run file; flags override it")
    p.add_argument("--plugin", action="append", default=[], metavar="FILE",
                   help="a Python file that registers models (repeatable)")
    p.add_argument("--list", action="store_true", help="list models and evaluators, then exit")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return p


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _flops(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of FLOPs such as 2e14, got {text!r}") from None


def _workers(text: str) -> int | str:
    return "auto" if text == "auto" else _int(text)


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(_int(part.strip()) for part in text.split(",") if part.strip())


def _patterns(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def config_from_args(args: argparse.Namespace) -> RunConfig:
    for flag in ("models", "evaluators"):  # an empty list must not silently mean "everything"
        if not _patterns(getattr(args, flag)):
            raise ConfigError(f"--{flag} needs at least one name or pattern, got {getattr(args, flag)!r}")
    return RunConfig(models=_patterns(args.models), exclude=_patterns(args.exclude),
                     evaluators=_patterns(args.evaluators),
                     datasets=_patterns(args.dataset),
                     epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                     latent_dims=args.latent_dim, seeds=args.seeds, limit=args.limit,
                     device=args.device, out=args.out, data_root=args.data_root,
                     force=args.force, report_only=args.report_only,
                     workers=args.workers, executor=args.executor,
                     ray_address=args.ray_address, amp=args.amp,
                     budget_flops=args.budget_flops).validated()


def list_registered() -> str:
    from bench.evaluators import load_all_evaluators
    from bench.plugins import load_all_models

    models = sorted(load_all_models(), key=lambda e: e.meta.get("family") == "baseline")
    lines = ["Models:"]
    lines += [f"  {e.name:<16} {e.description}" for e in models]
    lines += ["Evaluators:"]
    lines += [f"  {e.name:<16} {e.description}{'' if e.builder.default else ' [opt-in]'}"
              for e in sorted(load_all_evaluators(), key=lambda e: e.name)]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Flags over the TOML file (`--config`) over the built-in defaults."""
    from bench.config import read_toml

    p = parser()
    args = p.parse_args(argv)
    if args.config:
        values = read_toml(args.config)
        to_flag = {"models": ",".join, "exclude": ",".join, "evaluators": ",".join, "datasets": ",".join}
        flag = {"latent_dims": "latent_dim", "datasets": "dataset"}
        p.set_defaults(**{flag.get(k, k): to_flag.get(k, lambda v: v)(v)
                          for k, v in values.items()})
        args = p.parse_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse: --help (0) or a bad flag (2, its one error line printed)
        return exc.code
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    if args.report_only:  # from the results directory alone: no plugins, models or torch
        return report_only(args)
    plugin_failures = load_plugins(args.plugin)
    try:
        if args.list:
            print(list_registered())
            return 0
        cfg = config_from_args(args)
        out = Path(cfg.out or Path("reports") / cfg.run_name)
        from bench.run.sweep import run_sweep
        outcome = run_sweep(cfg, out)
    except (ConfigError, UnknownNameError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished cells are saved; run the same command again to resume.",
              file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, permissions changed mid-run, ...
        print(f"error: could not write results: {exc}. Finished cells and earlier files are "
              "intact (every write is atomic); free space and run the same command to resume.",
              file=sys.stderr)
        return 1
    except Exception as exc:
        from bench.data.sources import DataUnavailableError
        from bench.store.run_record import StoreError
        if isinstance(exc, (DataUnavailableError, StoreError)):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
    print(f"report: {outcome.out / 'report.html'}  ({outcome.out / 'report.md'})")
    if outcome.failures:
        print(f"{len(outcome.failures)} of {outcome.n_cells} cells failed:", file=sys.stderr)
        for failure in outcome.failures:
            print(f"  {failure}", file=sys.stderr)
    for failure in plugin_failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if plugin_failures else outcome.exit_code


def report_only(args: argparse.Namespace) -> int:
    from bench.report.build import build_report
    from bench.store.run_record import StoreError
    from bench.report.sweep import build_sweep_report, is_sweep

    try:
        cfg = config_from_args(args)
        out = Path(cfg.out or Path("reports") / cfg.run_name)
        built = build_sweep_report(out, rebuild_runs=True) if is_sweep(out) else build_report(out)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {built}")
    return 0


def load_plugins(files: list[str]) -> list[str]:
    """Load `--plugin` files and entry-point plugins; a broken one is reported, not fatal."""
    from bench.plugins import PluginError, load_all_models, load_plugin_file, plugin_errors

    load_all_models()
    failures = list(plugin_errors)
    for path in files:
        try:
            names = load_plugin_file(path)
            log.info("plugin %s registered %s", path, ", ".join(names))
        except PluginError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failures.append(str(exc))
    return failures
