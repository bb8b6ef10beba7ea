"""Publish a results directory as a reference run (`bench.store.reference`): what a new model is
compared with by `run_all.py --models my_ae --against DIR`.

    python -m bench.tools.publish_reference /work/ref5/out reports/example

It records the test set's SHA-256 (from the dataset the run names), leaves out weights and
codes, re-signs the records, rebuilds the report from the published files alone (so what is
committed is what a reader regenerates) and prints the bytes kept by kind.

A study (`docs/studies.md`) is published with `--study`: it keeps its records, its run's
report.md and figures, and with `--diff REFERENCE` its paired diff against the reference
(computed here from the run's per-image outcomes), but no per-image arrays and no report.html.
A study is read, not compared against: 21 MB of the tuned study's 24.4 were arrays and a second
copy of the figures; rerunning its command brings them back.

    python -m bench.tools.publish_reference /work/tuned/out reports/tuned --study --diff reports/example
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.data.datasets import load_dataset
from bench.errors import ConfigError
from bench.report.build import build_report
from bench.report.diff import build_diff, check_diff
from bench.store.reference import export_reference
from bench.store.run_record import read_run_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.publish_reference", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path, help="a finished results directory")
    parser.add_argument("dst", type=Path, help="a new directory for the reference")
    parser.add_argument("--study", action="store_true",
                        help="publish a study: records, report.md and figures, no per-image arrays")
    parser.add_argument("--diff", type=Path, metavar="REFERENCE",
                        help="with --study: its paired diff against REFERENCE (diff.md, diff.json)")
    args = parser.parse_args(argv)
    if args.diff and not args.study:
        parser.error("--diff is for a study (--study); a reference's diff is `run_all.py --report-only --diff`")
    config = read_run_manifest(args.src).config
    data = load_dataset(config["datasets"][0], config.get("data_root")).limited(config.get("limit"))
    if args.diff:
        try:
            check_diff(args.diff, args.src)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.study:
        sizes = export_reference(args.src, args.dst, data.test_sha256, arrays=False,
                                 run_files=("report.md", "results.csv", "summary.csv"))
        if args.diff:
            build_diff(args.diff, args.src, into=args.dst)
    else:
        sizes = export_reference(args.src, args.dst, data.test_sha256)
        build_report(args.dst)
    total = sum(p.stat().st_size for p in args.dst.rglob("*") if p.is_file())
    print(f"{args.dst}: {total / 1e6:.1f} MB in all; cells: "
          + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(sizes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
