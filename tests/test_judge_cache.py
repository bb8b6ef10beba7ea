"""The judge classifier is trained once per dataset: later results directories copy it from the
data cache, and a corrupt cached copy is replaced by a freshly trained one."""
import json

import pandas as pd

from bench.cli import main
from bench.judge import load_judge

ARGS = ["--dataset", "digits", "--epochs", "1", "--latent-dim", "8", "--models", "pca",
        "--evaluators", "generation", "-q"]


def run(out, data_root):
    assert main([*ARGS, "--out", str(out), "--data-root", str(data_root)]) == 0
    return json.loads((out / "run.json").read_text())["timings"], pd.read_csv(out / "results.csv")


def test_a_new_results_directory_copies_the_cached_judge_instead_of_training_one(tmp_path):
    first_timings, first = run(tmp_path / "a", tmp_path / "data")
    assert "judge" in first_timings
    (cached,) = (tmp_path / "data" / "judges").glob("digits-*/judge.json")
    second_timings, second = run(tmp_path / "b", tmp_path / "data")
    assert not any(phase.startswith("judge") for phase in second_timings)
    (copied,) = (tmp_path / "b").glob("judge/digits-*/judge.json")
    assert copied.read_bytes() == cached.read_bytes()
    assert (copied.parent / "judge.pt").read_bytes() == (cached.parent / "judge.pt").read_bytes()
    pd.testing.assert_frame_equal(first, second)


def test_a_corrupt_cached_judge_is_replaced_by_a_freshly_trained_one(tmp_path, caplog):
    run(tmp_path / "a", tmp_path / "data")
    (weights,) = (tmp_path / "data" / "judges").glob("digits-*/judge.pt")
    weights.write_bytes(b"not a state dict")
    timings, results = run(tmp_path / "b", tmp_path / "data")
    assert "judge" in timings and "cannot be loaded" in caplog.text
    assert "fid_judge" in set(results.metric)
    load_judge.__wrapped__(weights.parent)  # the cache holds a loadable judge again


def test_editing_the_judge_code_keys_a_new_judge_and_a_comment_does_not(tmp_path, monkeypatch):
    """A cached judge outlives the code that trained it: a code edit must not reuse it, and a
    comment or docstring edit must not throw it away."""
    from pathlib import Path

    import bench.judge as judge_module
    from bench.data.datasets import load_dataset

    data = load_dataset("digits")
    before = judge_module.judge_key(data)
    source = Path(judge_module.__file__).read_text()
    monkeypatch.setattr(judge_module, "__file__", str(tmp_path / "judge.py"))
    (tmp_path / "judge.py").write_text(source + "\n# edited\n")
    assert judge_module.judge_key(data) == before
    (tmp_path / "judge.py").write_text(source.replace("DROPOUT = LR / 10, 0.3", "DROPOUT = LR / 10, 0.25"))
    assert judge_module.judge_key(data) != before
    monkeypatch.setattr(judge_module, "TRAINING_VERSION", judge_module.TRAINING_VERSION + 1)
    (tmp_path / "judge.py").write_text(source)
    assert judge_module.judge_key(data) != before
