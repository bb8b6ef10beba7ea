"""TRAINING_VERSION is a decision, not an accident: the code every model shares is pinned here.

Why: cells are keyed by `bench.train.TRAINING_VERSION` instead of by the bytes of the training
files, so that comments and docstrings can be edited freely. The price is that a behaviour
change must be noticed: this golden test fails on any change to the shared training code
(syntax tree, docstrings and comments left out). When it fails, decide:
  - the change alters trained weights or the epochs a budget buys: bump TRAINING_VERSION in
    bench/train.py (every cell retrains), then update GOLDEN below;
  - it does not (a refactor, a new option off by default): update GOLDEN only.
"""
from pathlib import Path

import bench
from bench.fingerprint import code_fingerprint
from bench.train import TRAINING_VERSION

# The loop, its spec, the model base class, the knobs builders receive (tunables), the shared
# layers, and the FLOPs counter that turns --budget-flops into epochs.
SHARED = ("train.py", "train_spec.py", "model_api.py", "tunables.py", "layers.py", "cost.py")
GOLDEN = {"training_version": 1, "code": "40f5b89dacac"}


def shared_code(root: Path) -> str:
    return code_fingerprint([root / name for name in SHARED])


def test_the_shared_training_code_is_what_the_training_version_names():
    now = {"training_version": TRAINING_VERSION, "code": shared_code(Path(bench.__file__).parent)}
    assert now == GOLDEN, (
        "the shared training code changed: if trained weights change, bump TRAINING_VERSION in "
        f"bench/train.py; then set GOLDEN in {__file__} to {now} (see its docstring)")


def test_a_docstring_or_comment_edit_keeps_the_code_and_a_code_edit_does_not(tmp_path):
    root = Path(bench.__file__).parent
    for name in SHARED:
        (tmp_path / name).write_text((root / name).read_text())
    before = shared_code(tmp_path)
    train = tmp_path / "train.py"
    source = train.read_text()
    edited = source.replace('"""Train `model` in place', '"""Train the model in place', 1)
    assert edited != source
    train.write_text(edited.replace("\nlog = logging", "\n# a comment, reflowed\n\nlog = logging", 1))
    assert shared_code(tmp_path) == before
    train.write_text(edited.replace("max(0.0, 1 - step / steps)", "max(0.0, 1 - step / (steps + 1))"))
    assert shared_code(tmp_path) != before


def test_a_docstring_edit_in_train_py_keeps_every_cell_key(tmp_path, monkeypatch):
    """The issue's promise, end to end: the cell key is built from TRAINING_VERSION and the
    model's own code, so the bytes of train.py are not in it."""
    from bench.config import RunConfig
    from bench.model_api import model_fingerprint
    from bench.plugins import load_all_models

    load_all_models()
    key = RunConfig.of().validated().cell("conv_ae", 0, 32, code=model_fingerprint("conv_ae"),
                                          training_version=TRAINING_VERSION).key
    train = Path(bench.__file__).parent / "train.py"
    original = train.read_text()
    try:
        train.write_text(original.replace('"""Train `model` in place', '"""Train the model in place', 1))
        again = RunConfig.of().validated().cell("conv_ae", 0, 32, code=model_fingerprint("conv_ae"),
                                                training_version=TRAINING_VERSION).key
    finally:
        train.write_text(original)
    assert again == key
