"""Start `run_all.py` in a process forked from a warm interpreter, for the tests that start it
again and again (the kill chains, the resumes, the plugins, the progress display).

Why: a fresh interpreter spends ~6 s importing torch, scipy, scikit-learn, pandas, matplotlib and
seaborn before the run's first line, and those tests start ~50 runs. multiprocessing's
forkserver imports them once per test process (`_warm_imports`) and forks each run from there:
the run is still a process of its own, with its own memory, environment, working directory and
output files, killed by real signals and resumed by a process that never saw the first one.
Only the import is shared, and the server has started no thread pool before the fork. The
server is the process's one forkserver: when a test has run the benchmark in-process with
worker processes first, it is the benchmark's, whose preload is the same minus the report.
The tests about a fresh interpreter itself (what `--report-only` imports, orphaned workers, Ray)
keep starting `python run_all.py` with subprocess. A run shown on a pseudo-terminal opens the
terminal's device as its stdout and stderr, as a shell's child has it.

    proc = run_all(["--dataset", "digits", ...], env={...})   # a subprocess.CompletedProcess
    proc = start(["--dataset", "digits", ...]); proc.send_signal(SIGKILL); proc.wait()
"""
from __future__ import annotations

import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["tests._warm_imports"])


def _run_all_main(argv: list[str], env: dict, cwd: str, stdout: str, stderr: str) -> None:
    """The child: become `python run_all.py ARGV` started from `cwd` with `env`."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, path in ((1, stdout), (2, stderr)):
        if fd == 2 and path == stdout:  # 2>&1: one file offset, as a shell gives
            os.dup2(1, 2)
            continue
        file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(file, fd)
        os.close(file)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a foreground `python` has it
    sys.argv = [str(ROOT / "run_all.py"), *argv]
    # what a fresh interpreter puts first on sys.path: the script's folder, then $PYTHONPATH
    sys.path[:0] = [str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    runpy.run_path(sys.argv[0], run_name="__main__")  # its sys.exit(code) is the exit code


class WarmRun:
    """The part of subprocess.Popen the tests use: pid, poll, wait, send_signal, kill, output."""

    def __init__(self, argv: list[str], env: dict | None, cwd: Path, stdout: Path | None = None,
                 stderr: Path | None = None):
        self._files = tempfile.TemporaryDirectory(prefix="warm-run-")
        self._out = Path(stdout or Path(self._files.name) / "stdout")
        self._err = Path(stderr or Path(self._files.name) / "stderr")
        self.args = argv
        self._process = _CONTEXT.Process(target=_run_all_main, args=(
            argv, dict(os.environ if env is None else env), str(cwd), str(self._out), str(self._err)))
        self._process.start()
        self.pid = self._process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            self.kill()
            self._process.join()
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    @property
    def stdout(self) -> str:
        return self._out.read_text(errors="replace") if self._out.exists() else ""

    @property
    def stderr(self) -> str:
        return self._err.read_text(errors="replace") if self._err.exists() else ""


def start(argv: list[str], env: dict | None = None, cwd: Path = ROOT, stdout: Path | None = None,
          stderr: Path | None = None) -> WarmRun:
    """`subprocess.Popen([python, "run_all.py", *argv], env=env, cwd=cwd)`, from the warm fork;
    `stdout`/`stderr`: files (or a terminal's device) to write to instead of captured ones;
    `stderr` the same path as `stdout` means 2>&1."""
    return WarmRun([str(a) for a in argv], env, cwd, stdout, stderr)


def run_all(argv: list[str], env: dict | None = None, cwd: Path = ROOT,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """`subprocess.run([python, "run_all.py", *argv], capture_output=True, text=True)`."""
    proc = start(argv, env, cwd)
    code = proc.wait(timeout)
    return subprocess.CompletedProcess(proc.args, code, proc.stdout, proc.stderr)
