"""What a person sees during a run: in a terminal the overall bar; in a file or CI log one line
per finished cell and no control characters (issue #17)."""
import fcntl
import os
import pty
import select
import struct
import termios
import time
from pathlib import Path

from tests import warm_runs


RUN = ["--dataset", "digits", "--models", "dense_ae,vae,pca",
       "--evaluators", "reconstruction,kmeans,probe", "--epochs", "2", "--latent-dim", "4",
       "--workers", "2"]
ENV = {k: v for k, v in os.environ.items() if k != "AEBENCH_QUIET"}


def test_a_terminal_shows_the_overall_bar_and_a_line_per_cell(tmp_path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))  # a real window
    terminal = Path(os.ttyname(slave))  # the run opens it by name: keep ours open until it ends
    proc = warm_runs.start(RUN + ["--out", tmp_path / "tty"], env=ENV, stdout=terminal, stderr=terminal)
    out, deadline = b"", time.monotonic() + 300
    while time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            out += os.read(master, 65536)
        elif proc.poll() is not None:  # ended, and all it wrote has been read
            break
    os.close(slave)
    assert proc.wait(timeout=1) == 0, out.decode(errors="replace")[-2000:]
    text = out.decode(errors="replace")
    assert "cells 3/3 |" in text, "the overall bar, finished"
    assert "\r" in text.replace("\r\n", ""), "redrawn in place"
    for model in ("dense_ae", "vae", "pca"):
        assert f"] {model} z4 s0: trained in" in text
    assert "recon_mse" in text and "probe_acc" in text


def test_a_log_file_gets_one_plain_line_per_cell(tmp_path):
    log = tmp_path / "run.log"
    proc = warm_runs.start(RUN + ["--out", tmp_path / "file"], env=ENV, stdout=log, stderr=log)  # 2>&1
    code = proc.wait(timeout=300)
    text = log.read_text()
    assert code == 0, text[-2000:]
    lines = [line for line in text.splitlines() if "] " in line and " z4 s0: " in line]
    assert len(lines) == 3 and {"[1/3]", "[2/3]", "[3/3]"} <= {line.split("INFO ")[-1][:5] for line in lines}
    assert "\r" not in text and "\x1b" not in text, "no control characters in a log"
    assert "cells 3/3 |" not in text
