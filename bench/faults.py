"""Fault injection for the kill tests: with `AEBENCH_KILL_AT=point:n` in the environment, the
process SIGKILLs itself the n-th time it reaches `point` (a no-op otherwise).

Why named points rather than a timer: a kill at a random moment mostly lands in training; the
points put a kill inside every phase on purpose (an epoch, between a training snapshot and
its record, between the weights and their record,
between the codes and theirs, inside each evaluator, between an evaluation's arrays and its
record, before results.csv, between report.md and report.html, before a sweep's index), so the
tests can show that each one loses nothing finished.

    reached("weights-saved")   # in the code, at the point
"""
from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def reached(point: str) -> None:
    target = os.environ.get("AEBENCH_KILL_AT", "")
    if not target:
        return
    name, _, n = target.rpartition(":")
    if name != point:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == int(n):
        os.kill(os.getpid(), signal.SIGKILL)
