"""The README's findings are generated from committed results files, never typed (#31):
`python -m bench.tools.findings` rewrites them; these tests fail when the README and the
files disagree, and show that the table follows the file."""
import shutil

import pandas as pd

from bench.tools import findings, study_findings


def test_the_readme_findings_are_the_committed_results():
    for path in findings.FILES:  # the README and docs/studies.md
        text = path.read_text()
        assert text == findings.render(text), f"{path.name} is stale: run `python -m bench.tools.findings`"


def test_the_findings_table_follows_the_reference_summary(tmp_path):
    for name in ("run.json", "summary.csv"):
        shutil.copy(findings.REFERENCE / name, tmp_path / name)
    before = findings.findings(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    row = (summary["model"] == "conv_ae") & (summary["metric"] == "recon_mse")
    summary.loc[row, "mean"] = 0.00123
    summary.to_csv(tmp_path / "summary.csv", index=False)
    after = findings.findings(tmp_path)
    assert before != after and "conv_ae: 0.00123 [" in after
    assert "| reconstruction (`recon_mse ↓`) | conv_ae:" in before, "the reference's reconstruction leader"


def _tuned_study(root, best_after):
    """A study directory: the reference's run.json with a tuning record, and a diff.json."""
    import json
    run = json.loads((findings.REFERENCE / "run.json").read_text())
    trial = lambda default, score: {"default": default, "score": score, "values": {"lr": 0.001 if default else 0.003},
                                    "cell": "c"}
    run["config"] = {**run["config"], "tune": 2, "seeds": [0, 1]}
    run["tuning"] = {"trials": 2, "metric": "recon_mse", "criterion_text": "validation reconstruction error",
                     "models": [{"model": "vae", "latent_dim": 32, "selected": 0, "trials": [trial(True, 1.0), trial(False, 2.0)]},
                                {"model": "conv_ae", "latent_dim": 32, "selected": 1, "trials": [trial(True, 2.0), trial(False, 1.0)]}]}
    (root / "run.json").write_text(json.dumps(run))
    row = lambda job, before, after, moved: {"job": job, "metric": job + "_m", "latent_dim": 32, "higher_is_better": True,
                                             "leaders": [before[0], after[0]], "best_before": before,
                                             "best_after": after, "tau": 0.5, "moved": moved}
    (root / "diff.json").write_text(json.dumps({
        "seeds": [0, 1], "before": {"name": "example", "commit": "abc"}, "after": {"name": root.name, "commit": "def"},
        "rankings": [row("probe", ["vae"], best_after, [{"model": "conv_ae", "before": "3", "after": "1", "way": "rose"}]),
                     row("kmeans", ["vae", "conv_ae"], ["conv_ae", "vae"], [])]}))
    return root


def test_the_tuned_study_findings_follow_its_diff_and_tuning_records(tmp_path):
    same = study_findings.tuned_summary(_tuned_study(tmp_path, ["vae"]))
    assert "a rank moved clear of its 95% interval on 1 of 2 verdict jobs (conv_ae rose (probe))" in same
    assert "the leader by mean is the same as untuned on 1 of 2 (kmeans: vae → conv_ae)" in same
    assert "1 of 2 models kept their defaults (vae)" in same, "vae selected its default trial"
    changed = study_findings.tuned_summary(_tuned_study(tmp_path, ["conv_ae"]))
    assert "on 0 of 2 (probe: vae → conv_ae; kmeans" in changed
    table = study_findings.tuned_table(tmp_path)
    assert "on 1 of 2 verdict jobs (probe: conv_ae 3 → 1)" in table and "the best set is the same on 1 of 2" in table
    assert "| probe (`probe_m`) | vae | conv_ae | 0.50 | conv_ae 3 → 1 |" in table
    assert "--tune 2 --seeds 0,1" in table and "commit def" in table
    assert "- vae: its default\n- conv_ae: lr 0.001 → 0.003" in table
    assert study_findings.tuned_summary(tmp_path / "absent").startswith("Not run yet")


def test_the_latent_findings_name_who_is_among_the_best_at_every_size_and_whose_rank_moved(tmp_path):
    shutil.copy(findings.REFERENCE / "run.json", tmp_path / "run.json")
    rows = [  # model, size, metric, rank, its 95% interval, best
        ("conv_ae", 16, "recon_mse", 1, 1, 1, True), ("vae", 16, "recon_mse", 2, 2, 2, False),
        ("conv_ae", 32, "recon_mse", 1, 1, 1, True), ("vae", 32, "recon_mse", 2, 2, 2, False),
        ("conv_ae", 64, "recon_mse", 1, 1, 2, True), ("vae", 64, "recon_mse", 2, 1, 2, True),
        ("conv_ae", 16, "probe_acc", 1, 1, 1, True), ("vae", 16, "probe_acc", 2, 2, 2, False),
        ("conv_ae", 32, "probe_acc", 1, 1, 1, True), ("vae", 32, "probe_acc", 2, 2, 2, False),
        ("conv_ae", 64, "probe_acc", 2, 2, 2, False), ("vae", 64, "probe_acc", 1, 1, 1, True)]
    pd.DataFrame(rows, columns=["model", "latent_dim", "metric", "rank", "rank_low", "rank_high", "best"]
                 ).to_csv(tmp_path / "summary.csv", index=False)
    table = study_findings.latent_table(tmp_path)
    assert "| reconstruction (`recon_mse`) | conv_ae | conv_ae | conv_ae, vae | none | conv_ae |" in table
    assert ("| linear probe (`probe_acc`) | conv_ae | conv_ae | vae | conv_ae 1 → 2 (z64); vae 2 → 1 (z64) "
            "| nobody: the winner depends on the size |") in table
    assert "--latent-dim 16,32,64" in table
    assert study_findings.latent_summary(tmp_path) == (
        "with seeds 0, 1, 2, 3, 4, from z32 to z16, a rank moved clear of its 95% interval on 0 of 2 verdict jobs; the leader by mean is "
        "the same on 2 of 2; from z32 to z64, a rank moved clear of its 95% interval on 1 of 2 verdict jobs "
        "(conv_ae fell (linear probe); vae rose (linear probe)), on the others every rank stayed within the "
        "noise; the leader by mean is the same on 1 of 2 (linear probe: conv_ae → vae).")

