"""What a person sees while a run works: one overall bar (cells done of total, elapsed, time
left, what each worker is doing) in a terminal, and one line per finished cell everywhere.

Why tqdm and not rich: tqdm is already a dependency, writes plain lines when the output is not a
terminal, and `tqdm.write` keeps the per-cell lines above the bar; rich's live display would add
a dependency for one bar and a status line.

Worker processes cannot draw: they `status(...)` into a queue that the main process drains (the
runner installs the sink). In the main process (serial runs) `status` updates the bar directly.

    with RunProgress(total=13) as progress:
        progress.cell_done("conv_ae z32 s0: trained 251 s; recon_mse 0.0046")
"""
from __future__ import annotations

import logging
import os
import queue
import shutil
import sys
import threading
import time

from tqdm.auto import tqdm

log = logging.getLogger("aebench")
_sink = None  # where `status` goes in this process: a RunProgress, or a worker's queue


def status(text: str) -> None:
    """Say what this process is doing now (model, phase, epoch); a no-op without a display."""
    sink = _sink
    if sink is None:
        return
    if isinstance(sink, RunProgress):
        sink.set_status(str(os.getpid()), text)
    else:
        try:
            sink.put_nowait((str(os.getpid()), text))
        except Exception:  # a full or closed queue must never fail a cell
            pass


def send_status_to(q) -> None:
    """In a worker process: forward `status` to the main process's queue."""
    global _sink
    _sink = q


class RunProgress:
    """The overall display of one run. A terminal gets a bar; anything else (a file, CI) gets
    only the finished-cell lines, through logging, with no control characters."""

    def __init__(self, total: int, stream=None, workers_queue=None):
        self.stream = stream or sys.stderr
        quiet = bool(os.environ.get("AEBENCH_QUIET")) or log.getEffectiveLevel() > logging.INFO
        self.tty = self.stream.isatty() and not quiet
        self.total, self.done, self.start = total, 0, time.perf_counter()
        self.doing: dict[str, str] = {}
        self.bar = tqdm(total=total, unit="cell", desc="cells", file=self.stream,
                        disable=not self.tty, ncols=shutil.get_terminal_size((100, 20)).columns, leave=True,
                        bar_format="{desc} {n_fmt}/{total_fmt} |{bar:20}| {elapsed}<{remaining} {postfix}")
        self.queue = workers_queue
        self._stop = threading.Event()
        self._drain = None
        if workers_queue is not None:
            self._drain = threading.Thread(target=self._drain_queue, name="progress", daemon=True)
            self._drain.start()

    def __enter__(self):
        global _sink
        self._previous, _sink = _sink, self
        return self

    def __exit__(self, *exc):
        global _sink
        _sink = self._previous
        self._stop.set()
        if self._drain is not None:
            self._drain.join(timeout=2)
        self.bar.close()

    def _drain_queue(self) -> None:
        while not self._stop.is_set():
            try:
                who, text = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            self.set_status(who, text)

    def set_status(self, who: str, text: str) -> None:
        """What `who` (a process id) is doing now; an empty text: nothing any more."""
        if text:
            self.doing[who] = text
        else:
            self.doing.pop(who, None)
        if self.tty:
            self.bar.set_postfix_str(" | ".join(self.doing.values()), refresh=True)

    def cell_done(self, line: str) -> None:
        self.done += 1
        text = f"[{self.done}/{self.total}] {line}"
        if self.tty:
            self.bar.write(text, file=self.stream)
            self.bar.update(1)
        else:
            log.info("%s", text)
