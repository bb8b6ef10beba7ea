"""A new model compared with a published reference run (`--against`, issue #33): the reference
keeps its outcomes, the comparison trains only the new model, and its report equals a report of
one run over every model; a different protocol or a damaged reference is refused, by name."""
import json

import pandas as pd
import pytest

from bench.cli import main
from bench.store.reference import export_reference

GRID = ["--dataset", "digits", "--epochs", "2", "--latent-dim", "8", "--seeds", "0,1",
        "--evaluators", "reconstruction,kmeans,probe,denoising", "-q"]


def table(path, name):
    frame = pd.read_csv(path / name)
    return frame.sort_values(list(frame.columns[:5])).reset_index(drop=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("against")
    assert main(GRID + ["--models", "dense_ae,pca", "--out", str(root / "run")]) == 0
    export_reference(root / "run", root / "ref")
    assert main(GRID + ["--models", "dense_ae,pca,vae", "--out", str(root / "all")]) == 0
    return root


def test_the_reference_keeps_outcomes_and_records_but_no_weights_or_codes(runs):
    ref = runs / "ref"
    assert not list(ref.rglob("model.pt")) and not list(ref.rglob("embeddings.npz"))
    assert len(list(ref.glob("cells/*/outcomes_probe.npz"))) == 4
    train = json.loads(next(ref.glob("cells/dense_ae*/train.json")).read_text())
    assert set(train["files"]) == {"history.csv", "checkpoints.json"}


def test_a_new_model_against_the_reference_reports_as_if_all_had_run_together(runs):
    out = runs / "new"
    # the protocol comes from the reference: its seeds and evaluators, whatever is given here
    assert main(["--models", "vae", "--against", str(runs / "ref"), "--seeds", "7", "--epochs", "2",
                 "--dataset", "digits", "--out", str(out), "-q"]) == 0
    trained = {p.parent.name.split("-")[0] for p in out.glob("cells/*/model.pt")}
    assert trained == {"vae"}, "only the new model is trained"
    pd.testing.assert_frame_equal(table(out, "results.csv"), table(runs / "all", "results.csv"))
    pd.testing.assert_frame_equal(table(out, "summary.csv"), table(runs / "all", "summary.csv"))


def test_a_different_protocol_is_refused_before_anything_is_written(runs, tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["--models", "pca", "--against", str(runs / "ref"), "--out", str(out), "-q"]) == 2
    assert "pca is already in the reference" in capsys.readouterr().err
    assert main(["--models", "vae", "--against", str(runs / "ref"), "--lr", "0.002",
                 "--dataset", "digits", "--epochs", "2", "--out", str(out), "-q"]) == 2
    assert "the training spec differs: lr 0.001 there, 0.002 here" in capsys.readouterr().err
    assert main(["--models", "vae", "--against", str(runs / "ref"), "--dataset", "digits",
                 "--epochs", "2", "--limit", "200", "--out", str(out), "-q"]) == 2
    assert "the test set differs" in capsys.readouterr().err
    assert not out.exists()


def test_a_damaged_reference_file_is_named_and_never_used(runs, tmp_path, capsys):
    import shutil

    ref = tmp_path / "ref"
    shutil.copytree(runs / "ref", ref)
    victim = next(ref.glob("cells/pca*/outcomes_probe.npz"))
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")
    assert main(["--models", "vae", "--against", str(ref), "--dataset", "digits", "--epochs", "2",
                 "--out", str(tmp_path / "x"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "outcomes_probe.npz does not match its SHA-256" in err and victim.parent.name in err
    assert not (tmp_path / "x").exists()


def test_a_study_is_published_with_its_diff_and_records_but_no_per_image_arrays(runs, tmp_path, capsys):
    """A study (`--study`) is read, not compared against: its diff is computed from the run's
    outcomes before they are left out, its records still verify, and its findings read it."""
    from bench.store.run_record import read_run_manifest, run_cells
    from bench.tools import publish_reference, study_findings
    study = tmp_path / "study"
    assert publish_reference.main([str(runs / "all"), str(study), "--study", "--diff", str(runs / "ref")]) == 0
    assert not list(study.rglob("*.npz")) and not (study / "report.html").exists()
    assert {"report.md", "results.csv", "summary.csv", "run.json", "diff.md", "diff.json"} <= {p.name for p in study.iterdir()}
    cells = run_cells(study, read_run_manifest(study))
    assert len(cells) == 6 and all(c.inspect(p.name)[1] is None for c in cells for p in c.dir.glob("*.json")
                                   if p.name != "config.json")
    diff = json.loads((study / "diff.json").read_text())
    assert diff["after"]["name"] == "study" and diff["seeds"] == [0, 1]
    assert all(set(r["ranks"]) == {"dense_ae", "pca"} for r in diff["rankings"]), "the reference's models only"
    improving = study_findings.still_improving(study)
    assert [line.split(",")[0] for line in improving] == ["- dense_ae", "- vae"], "the trained models' checkpoints"
    assert "epoch 1 → 2" in improving[0]
    summary = study_findings.long_summary(study)
    assert summary.startswith("from 2 to 2 epochs with seeds 0, 1, a rank moved clear of its 95% interval on 0 of ")
    improved = [m for m in ("dense_ae", "vae") if f"{m}, epoch 1 → 2" in " ".join(
        line for line in improving if "still improving" in line)]
    assert summary.endswith(f"still improving over the last doubling of epochs: {', '.join(improved) or 'none'}.")
    assert publish_reference.main([str(runs / "all"), str(tmp_path / "other"), "--study", "--diff",
                                   str(tmp_path / "absent")]) == 2
    assert capsys.readouterr().err.startswith("error: --diff:") and not (tmp_path / "other").exists()
