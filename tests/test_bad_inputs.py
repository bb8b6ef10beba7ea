"""Every usage error exits 2 with one line starting `error:` and writes nothing (issue #18).

The table of bad inputs in docs/reliability.md is generated from BAD_INPUTS by this file and checked
against it here, so it cannot drift: `python -m tests.test_bad_inputs` rewrites it.
"""
import os
import sys
from pathlib import Path

import pytest
import torch

from bench.cli import main

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- bad-inputs:start -->", "<!-- bad-inputs:end -->"
FILES = {  # made in the working directory before each case
    "typo.toml": "[run]\nepoch = 3\n",
    "wrong_type.toml": "[run]\nepochs = \"three\"\n",
    "broken.toml": "[run\nepochs = 3\n",
    "a_directory.toml/": None,
    "not_a_dir": "",
    "old_run/run.json": '{"store_format": 1}',
    "ranges_typo.toml": "[beta_vae]\nbetta = [1.0, 8.0]\n",
    "ranges_empty.toml": "[beta_vae]\nbeta = [8.0, 1.0]\n",
}
# (what is wrong, the arguments, a piece of the message); every case also gets --out fresh_out
BAD_INPUTS = [
    ("unknown model", ["--models", "conv_aa"], "Did you mean 'conv_ae'"),
    ("empty model list", ["--models", ""], "--models needs at least one"),
    ("everything excluded", ["--models", "*vae", "--exclude", "*"], "no model matches"),
    ("unknown evaluator", ["--evaluators", "kmean"], "Did you mean 'kmeans'"),
    ("empty evaluator list", ["--evaluators", ","], "--evaluators needs at least one"),
    ("unknown dataset", ["--dataset", "mnits"], "Did you mean 'mnist'"),
    ("dataset twice", ["--dataset", "mnist,mnist"], "--dataset names mnist more than once"),
    ("seed twice", ["--seeds", "0,0"], "--seeds names 0 more than once"),
    ("latent size twice", ["--latent-dim", "8,8"], "--latent-dim names 8 more than once"),
    ("model pattern matching nothing", ["--models", "dense_ae,zz*"], "'zz*' matches no model"),
    ("evaluator pattern matching nothing", ["--evaluators", "zz*"], "'zz*' matches no evaluator"),
    ("missing plugin file", ["--plugin", "missing.py"], "--plugin missing.py: no such file"),
    ("zero epochs", ["--epochs", "0"], "--epochs must be a positive integer"),
    ("negative epochs", ["--epochs", "-3"], "--epochs must be a positive integer"),
    ("huge epochs", ["--epochs", "80000"], "more than this benchmark allows"),
    ("epochs not a number", ["--epochs", "many"], "expected an integer"),
    ("FLOPs budget zero", ["--budget-flops", "0"], "--budget-flops must be a number of FLOPs"),
    ("FLOPs budget negative", ["--budget-flops=-1e9"], "--budget-flops must be a number of FLOPs"),
    ("FLOPs budget absurd", ["--budget-flops", "1e30"], "--budget-flops must be a number of FLOPs"),
    ("FLOPs budget not a number", ["--budget-flops", "lots"], "expected a number of FLOPs"),
    ("epochs and a FLOPs budget", ["--epochs", "4", "--budget-flops", "2e14"], "are alternatives"),
    ("negative batch size", ["--batch-size", "-5"], "--batch-size must be a positive integer"),
    ("huge batch size", ["--batch-size", "10000000"], "more than this benchmark allows"),
    ("learning rate NaN", ["--lr", "nan"], "--lr must be in (0, 10)"),
    ("learning rate negative", ["--lr", "-0.1"], "--lr must be in (0, 10)"),
    ("negative weight decay", ["--weight-decay=-0.01"], "--weight-decay must be in [0, 10)"),
    ("unknown learning-rate schedule", ["--lr-schedule", "cosine"], "invalid choice: 'cosine'"),
    ("learning rate not a number", ["--lr", "fast"], "invalid float value"),
    ("latent size zero", ["--latent-dim", "0"], "--latent-dim must be a positive integer"),
    ("latent size above the pixels", ["--dataset", "digits", "--latent-dim", "65"],
     "larger than the input"),
    ("limit zero", ["--limit", "0"], "--limit must be a positive integer"),
    ("limit above the data", ["--dataset", "digits", "--limit", "100000"], "larger than digits"),
    ("negative seed", ["--seeds", "-1"], "--seeds takes integers from 0"),
    ("huge seed", ["--seeds", str(2**40)], "--seeds takes integers from 0"),
    ("seed not a number", ["--seeds", "0,x"], "expected an integer"),
    ("zero workers", ["--workers", "0"], "--workers must be a positive integer"),
    ("unknown device", ["--device", "tpu"], "--device must be auto, cpu or cuda"),
    ("unknown executor", ["--executor", "spark"], "invalid choice: 'spark'"),
    ("Ray address without Ray", ["--ray-address", "127.0.0.1:6379"], "--ray-address needs --executor ray"),
    ("missing config file", ["--config", "missing.toml"], "does not exist"),
    ("config is a directory", ["--config", "a_directory.toml"], "is a directory"),
    ("config key misspelt", ["--config", "typo.toml"], "unknown key 'epoch'. Did you mean 'epochs'?"),
    ("config value of the wrong type", ["--config", "wrong_type.toml"], "epochs has the wrong type"),
    ("config not TOML", ["--config", "broken.toml"], "is not valid TOML"),
    ("--out below a file", ["--out", "not_a_dir/run"], "not_a_dir is a file"),
    ("--out of another store format", ["--out", "old_run"], "incompatible aebench"),
    ("no tuning trials", ["--tune", "0"], "--tune takes a number of trials from 1 to 256"),
    ("tuning ranges without --tune", ["--tune-ranges", "ranges_typo.toml"], "--tune-ranges needs --tune"),
    ("tuning range of a knob the model lacks", ["--tune", "4", "--models", "beta_vae", "--tune-ranges",
                                                "ranges_typo.toml"], "beta_vae has no knob 'betta'"),
    ("empty tuning range", ["--tune", "4", "--models", "beta_vae", "--tune-ranges", "ranges_empty.toml"],
     "[8, 1] is empty"),
    ("unknown tuning criterion", ["--tune-select", "fid"], "invalid choice: 'fid'"),
    ("tuning against a reference", ["--tune", "4", "--against", "old_run"], "--tune and --against are alternatives"),
    ("--diff without --report-only", ["--diff", "old_run"], "--diff needs --report-only"),
    ("--diff with a folder that holds no run", ["--report-only", "--out", "old_run", "--diff",
                                                "a_directory.toml"], "--diff: "),
]
if not torch.cuda.is_available():
    BAD_INPUTS.append(("CUDA on a machine without it", ["--device", "cuda"], "CUDA is not available"))


def _make_files(where: Path) -> None:
    for name, text in FILES.items():
        path = where / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def run_bad(argv: list[str], where: Path, capsys) -> tuple[int, str]:
    _make_files(where)
    before = sorted(p.relative_to(where) for p in where.rglob("*"))
    args = argv if "--out" in argv else argv + ["--out", "fresh_out"]
    code = main(args)
    err = capsys.readouterr().err
    after = sorted(p.relative_to(where) for p in where.rglob("*"))
    assert after == before, f"bad usage wrote {set(after) - set(before)}"
    return code, err


@pytest.mark.parametrize("what, argv, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_one_error_line_and_writes_nothing(what, argv, message, tmp_path,
                                                                   monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, err = run_bad(argv, tmp_path, capsys)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err


def table(rows: list[tuple[str, list[str], int, str]]) -> str:
    def cell(text: str) -> str:
        text = text if len(text) <= 110 else text[:107] + "..."
        return text.replace("|", "\\|")
    lines = ["| bad input | command | exit | what the user sees |", "|---|---|---|---|"]
    for what, argv, code, err in rows:
        command = "run_all.py " + " ".join(a if a and " " not in a else repr(a) for a in argv)
        lines.append(f"| {what} | `{cell(command)}` | {code} | `{cell(err.strip())}` |")
    return "\n".join(lines)


def generated_table(where: Path, capsys) -> str:
    rows = []
    for what, argv, _ in BAD_INPUTS:
        code, err = run_bad(argv, where, capsys)
        rows.append((what, argv, code, err))
    return table(rows)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the table was made without CUDA")
def test_the_readme_shows_the_generated_table(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    readme = (ROOT / "docs" / "reliability.md").read_text()
    shown = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert shown == generated_table(tmp_path, capsys), \
        "docs/reliability.md's bad-input table is stale: run `python -m tests.test_bad_inputs` to regenerate it"


if __name__ == "__main__":  # regenerate the table in docs/reliability.md
    import tempfile

    class _Capture:  # what capsys gives, for a plain script
        def readouterr(self):
            value = sys.stderr.getvalue()
            sys.stderr.seek(0)
            sys.stderr.truncate()
            return type("Out", (), {"err": value})()

    import io

    os.environ.setdefault("AEBENCH_QUIET", "1")
    with tempfile.TemporaryDirectory() as where:
        os.chdir(where)
        real, sys.stderr = sys.stderr, io.StringIO()
        try:
            text = generated_table(Path(where), _Capture())
        finally:
            sys.stderr = real
    readme = (ROOT / "docs" / "reliability.md").read_text()
    head, rest = readme.split(START, 1)
    tail = rest.split(END, 1)[1]
    (ROOT / "docs" / "reliability.md").write_text(f"{head}{START}\n{text}\n{END}{tail}")
    print(f"docs/reliability.md: {len(BAD_INPUTS)} bad inputs")
