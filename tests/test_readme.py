"""What the README restates from the code is generated from it, and checked here.

Why: a hand copy of the registry goes stale the day a model is added. `python -m
tests.test_readme` rewrites the generated blocks; this test fails when they differ, and keeps
the README within the 300 lines a newcomer reads.
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def generated_blocks() -> dict[str, str]:
    """What a user's `run_all.py --list` prints (a fresh process: tests register extra models)."""
    listing = subprocess.run([sys.executable, str(ROOT / "run_all.py"), "--list"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
    return {"list": f"```\n{listing}\n```"}


def replace_blocks(text: str, blocks: dict[str, str]) -> str:
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(\n<!-- {name}:end -->)", re.S)
        assert pattern.search(text), f"README has no {name} block"
        text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)
    return text


def test_the_readme_blocks_are_generated_from_the_registry():
    text = README.read_text()
    assert text == replace_blocks(text, generated_blocks()), \
        "README's generated blocks are stale: run `python -m tests.test_readme`"


def test_the_readme_is_for_newcomers_at_most_300_lines():
    assert len(README.read_text().splitlines()) <= 300


def test_every_link_to_docs_points_at_a_file():
    for text, base in [(README.read_text(), ROOT)] + [(p.read_text(), p.parent) for p in (ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(((?:\.\./|docs/)[^)#]+)\)", text):
            assert (base / target).exists(), target


if __name__ == "__main__":
    README.write_text(replace_blocks(README.read_text(), generated_blocks()))
    print("README.md: generated blocks rewritten")
