"""docs/statistics.md's calibration table is generated from the committed results file, never
typed: `python -m tests.test_statistics_doc` rewrites it; this test fails when they differ."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC, RESULTS = ROOT / "docs" / "statistics.md", ROOT / "reports" / "calibration" / "simulation.json"


def table() -> str:
    result = json.loads(RESULTS.read_text())
    lines = ["| seed sd | seeds | coverage | false separation | family-wise | best kept |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['seed_sd']} | {r['seeds']} | {r['coverage']:.3f} | {r['false_separation']:.3f} | "
              f"{r['family_wise_false_separation']:.3f} | {r['best_kept']:.3f} |" for r in result["rows"]]
    return "\n".join(lines) + f"\n\n{result['rows'][0]['reps']} runs per row; command: `{result['command']}`."


def render(text: str) -> str:
    return re.sub(r"(<!-- simulation:start -->\n).*?(<!-- simulation:end -->)",
                  lambda m: m.group(1) + table() + "\n" + m.group(2), text, flags=re.S)


def test_the_calibration_table_is_the_committed_results():
    text = DOC.read_text()
    assert text == render(text), "stale: run `python -m tests.test_statistics_doc`"


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text()))
