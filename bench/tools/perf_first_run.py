"""First-run benchmark: the default run as a new user's first run (a fresh results directory
and a data cache that holds only the MNIST files), its phase breakdown, and the ratio to the
figure measured before.

Why a script: "the first run takes N minutes" is a claim about a whole command on a whole
machine; this measures it the same way every time and keeps the before in a file, so a commit's
speed claim is a ratio of two measurements, not a memory. Timed assertions live nowhere in the
tests.

    python -m bench.tools.perf_first_run          # default run; compares with reports/perf/first_run.json
    python -m bench.tools.perf_first_run --save   # ... and records this run as the new "before"
    python -m bench.tools.perf_first_run -- --models dense_ae,pca --epochs 1   # run_all.py options
    python -m bench.tools.perf_first_run --keep DIR -- --seeds 0,1,2,3,4      # keep the run
    python -m bench.tools.perf_first_run --record DIR --before F --save -- --seeds 0,1,2,3,4
                                                  # a kept run's figures, from its own record
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.data.datasets import default_data_root
from bench.run.provenance import peak_rss_mb
from bench.store.run_record import read_run_manifest

ROOT = Path(__file__).resolve().parents[2]
BEFORE = ROOT / "reports" / "perf" / "first_run.json"


def first_run(run_args: list[str], workdir: Path) -> dict:
    """Run `run_all.py` with an empty results directory and a data root holding only MNIST."""
    data_root = workdir / "data"
    (data_root / "mnist").mkdir(parents=True)
    for path in (default_data_root() / "mnist").glob("mnist-uint8.npz*"):
        shutil.copy(path, data_root / "mnist" / path.name)
    out = workdir / "out"
    start = time.perf_counter()
    code = subprocess.run([sys.executable, str(ROOT / "run_all.py"), "--out", str(out),
                           "--data-root", str(data_root), "-q", *run_args], cwd=ROOT).returncode
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"error: run_all.py exited with {code}")
    return measured(out, wall, run_args)


def measured(out: Path, wall: float | None, run_args: list[str]) -> dict:
    """The figures of the finished run in `out` that took `wall` seconds (None: the run's own
    record of its wall time)."""
    record = read_run_manifest(out)
    wall = record.cost["wall_seconds"] if wall is None else wall
    # the run's own record counts its workers, which are not this process's descendants when
    # forked from the fork server (their usage never reaches RUSAGE_CHILDREN)
    peak = max(peak_rss_mb("children"), record.cost["peak_rss_mb"])
    return {"wall_s": wall, "peak_rss_mb": peak,
            "args": run_args, "commit": record.environment.get("git_commit"),
            "workers": record.workers, "record_s": record.cost["wall_seconds"],
            "phases": phases(record.timings), "eval_share": record.cost["eval_share"],
            "evaluators": {k.removeprefix("eval:"): v for k, v in record.timings.items()
                           if k.startswith("eval:")}}


def phases(timings: dict[str, float]) -> dict[str, float]:
    """Seconds per phase, summed over processes; the evaluators folded into one 'evaluation'."""
    out: dict[str, float] = {}
    for name, seconds in timings.items():
        key = "evaluation" if name.startswith("eval:") else name
        out[key] = out.get(key, 0.0) + seconds
    return out


def table(now: dict, before: dict | None) -> str:
    lines = [f"{'phase':<28}{'now s':>10}{'before s':>10}{'ratio':>8}"]
    before = before or {}
    rows = [("wall (whole command)", now["wall_s"], before.get("wall_s"))]
    rows += [(name, s, before.get("phases", {}).get(name))
             for name, s in sorted(now["phases"].items(), key=lambda kv: -kv[1])]
    rows += [(f"  eval {name}", s, before.get("evaluators", {}).get(name))
             for name, s in sorted(now.get("evaluators", {}).items(), key=lambda kv: -kv[1])]
    for name, s, was in rows:
        ratio = f"{was / s:.2f}x" if was and s else ""
        lines.append(f"{name:<28}{s:>10.0f}{'' if was is None else f'{was:.0f}':>10}{ratio:>8}")
    lines.append(f"evaluation share of compute {now['eval_share']:.0%}; peak memory "
                 f"{now['peak_rss_mb']:,.0f} MB; before: {before.get('label', 'none')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.perf_first_run", description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, default=BEFORE, help="the earlier figure (JSON)")
    parser.add_argument("--save", action="store_true", help="record this run as the new 'before'")
    parser.add_argument("--label", default="", help="what this run measured (kept with --save)")
    parser.add_argument("--keep", type=Path, help="run in this new folder and keep it (to read the "
                        "report and every cell's timings afterwards)")
    parser.add_argument("--record", type=Path, help="instead of running: the figures of a run "
                        "kept earlier with --keep, its wall time from its own record")
    parser.add_argument("run_args", nargs="*", help="options for run_all.py (after --)")
    args = parser.parse_args(argv)
    before = json.loads(args.before.read_text()) if args.before.exists() else None
    if args.keep and args.keep.exists():
        parser.error(f"--keep {args.keep} exists; a first run starts from a new folder")
    if args.record:
        out = args.record / "out"
        now = measured(out, None, args.run_args)
    elif args.keep:
        args.keep.mkdir(parents=True)
        now = first_run(args.run_args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="aebench-first-run-") as tmp:
            now = first_run(args.run_args, Path(tmp))
    print(table(now, before))
    if args.save:
        args.before.write_text(json.dumps({"label": args.label, **now}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
