"""The README's findings are generated from committed results files, never typed (#31):
`python -m bench.tools.findings` rewrites them; these tests fail when the README and the
files disagree, and show that the table follows the file."""
import shutil

import pandas as pd

from bench.tools import findings


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
