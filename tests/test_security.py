"""Nothing the project reads can run code: checkpoints load weights only, and a write failure
(disk full) is a clear error that leaves finished results intact."""
import errno
import os
import pickle

import pytest
import torch

from bench import atomic
from bench.cli import main
from bench.config import RunConfig
from bench.store.cell import CellStore

ARGS = ["--dataset", "digits", "--epochs", "1", "--latent-dim", "8", "--models", "dense_ae,pca",
        "--evaluators", "reconstruction,kmeans", "-q"]


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_carrying_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    cell = CellStore(tmp_path, RunConfig().cell("dense_ae", 0, 8))
    cell.dir.mkdir(parents=True)
    with open(cell.dir / "model.pt", "wb") as f:
        torch.save({"weight": Payload(marker)}, f)  # torch.save pickles the payload
    with pytest.raises(pickle.UnpicklingError):
        cell.load_state_dict()
    assert not marker.exists()


def test_a_planted_checkpoint_is_never_unpickled(tmp_path, capsys):
    """A checkpoint swapped for one that carries code: its SHA-256 no longer matches train.json,
    so it is moved aside unread and the model retrained; and if the attacker also rewrites the
    record's hash, torch.load(weights_only=True) refuses it and the cell fails."""
    from bench import atomic
    from bench.store.cell import read_record, write_record

    out = tmp_path / "run"
    assert main(ARGS + ["--out", str(out)]) == 0
    marker = tmp_path / "pwned"
    (cell_dir,) = out.glob("cells/dense_ae-*")
    torch.save({"weight": Payload(marker)}, cell_dir / "model.pt")
    for p in cell_dir.glob("eval_*.json"):
        p.unlink()  # force the cell to need its weights again
    assert main(ARGS + ["--out", str(out)]) == 0
    assert not marker.exists() and (cell_dir / "damaged" / "model.pt").exists()

    torch.save({"weight": Payload(marker)}, cell_dir / "model.pt")
    record, _ = read_record(cell_dir / "train.json")
    record["files"]["model.pt"] = atomic.sha256_file(cell_dir / "model.pt")
    write_record(cell_dir / "train.json", {k: v for k, v in record.items() if k != "sha256"})
    for p in cell_dir.glob("eval_*.json"):
        p.unlink()
    assert main(ARGS + ["--out", str(out)]) == 1
    assert not marker.exists()
    assert "Weights only load failed" in (cell_dir / "error.txt").read_text()


def test_disk_full_mid_run_is_a_clear_error_and_keeps_finished_results(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(ARGS + ["--out", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real = atomic.write_with
    calls = {"n": 0}

    def flaky(path, writer):
        calls["n"] += 1
        if calls["n"] > 2:  # the first files of the new cell get written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, writer)

    monkeypatch.setattr(atomic, "write_with", flaky)
    assert main(ARGS + ["--seeds", "0,1", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "intact" in err
    for path, data in before.items():
        if path.name != "run.json":
            assert path.read_bytes() == data, f"{path} changed"
    assert not [p for p in out.rglob(".*.tmp")], "no temporary file is left behind"
