"""Set up what aebench needs, then run it: the README's two quick-start commands.

    python3 dev.py bench [run_all.py options]   # venv + install, then the default benchmark
    python3 dev.py test  [pytest options]       # venv + install with test extras, then the tests

Why a Python script and not a Makefile or shell script: a fresh machine is promised only Python
3.11+. The virtual environment lives in `.venv/` in the repo and is (re)installed only when
`pyproject.toml` changed since the last install.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".aebench-installed"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_env(extras: str) -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"aebench needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not venv_python().exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print(f"installing aebench[{extras}] and its dependencies (a few minutes the first time)",
              flush=True)
        subprocess.run([str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check",
                        "-q", "-e", f".[{extras}]"], cwd=ROOT, check=True)
        print("compiling UMAP's numba kernels once (~25 s), so that no process of a run has to",
              flush=True)
        subprocess.run([str(venv_python()), "-c", "from bench.evaluators.umap_embed import compile_kernels; "
                        "compile_kernels()"], cwd=ROOT, check=False)  # a failure only costs that time later
        STAMP.write_text(wanted + "\n")
    return venv_python()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("bench", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_env("test")
    if command == "bench":
        args = [str(python), "run_all.py", *rest]
    else:
        args = [str(python), "-m", "pytest", *rest]
    return subprocess.run(args, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
