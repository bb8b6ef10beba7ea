"""Command line: `python run_all.py [options]`. Decides what a person sees and the exit code.

Exit codes: 0 every cell succeeded; 1 a cell failed (the report is still written) or the data
could not be had; 2 bad usage (unknown name, bad value); 130 interrupted (finished cells are
kept, and the same command resumes).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bench.config import ConfigError, RunConfig
from bench.options import add_to_parser, config_values
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
    add_to_parser(p, DEFAULTS)  # every run option (bench.options)
    p.add_argument("--config", metavar="FILE.toml", help="a TOML run file; flags override it")
    p.add_argument("--plugin", action="append", default=[], metavar="FILE",
                   help="a Python file that registers models or evaluators (repeatable)")
    p.add_argument("--list", action="store_true", help="list models and evaluators, then exit")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return p


def config_from_args(args: argparse.Namespace) -> RunConfig:
    values = config_values(args)
    for field in ("models", "evaluators"):  # an empty list must not silently mean "everything"
        if not values[field]:
            raise ConfigError(f"--{field} needs at least one name or pattern, got an empty list")
    return RunConfig.of(**values).validated()


def list_registered() -> str:
    from bench.plugins import load_all_evaluators
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
        p.set_defaults(**read_toml(args.config))  # keyed by RunConfig field, as the flags' dest
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
    for path in args.plugin:  # before anything is loaded or written
        if not Path(path).is_file():
            print(f"error: --plugin {path}: no such file", file=sys.stderr)
            return 2
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
        if cfg.diff:  # checked before anything is written
            from bench.report.diff import build_diff, check_diff
            check_diff(Path(cfg.diff), out)
        built = build_sweep_report(out, rebuild_runs=True) if is_sweep(out) else build_report(out)
        if cfg.diff:
            built = build_diff(Path(cfg.diff), out)
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
