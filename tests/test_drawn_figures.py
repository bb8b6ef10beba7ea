"""Drawn figures are reused only when the figure is the same (bench.report.drawn): a rebuilt
report draws nothing and is byte for byte the one a fresh drawing gives; one changed value, or
a damaged file, is drawn again."""
import shutil

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from bench.report.build import build_report
from bench.report.drawn import drawn_figures
from bench.report.figures import png_bytes

matplotlib.use("Agg")


def bars(values) -> Figure:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.barh(range(len(values)), values)
    ax.set_yticks(range(len(values)), [f"model {i}" for i in range(len(values))])
    ax.set_xscale("log")  # transforms with parents: the part of a figure keyed by id() in pickle
    return fig


@pytest.fixture
def savefigs(monkeypatch):
    """Counts the figures actually rasterised."""
    calls = []
    real = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    return calls


def test_the_same_figure_is_drawn_once_and_a_changed_one_again(tmp_path, savefigs):
    fresh = png_bytes(bars([1, 2, 3]), tight=True)  # no cache active: always drawn
    with drawn_figures(tmp_path) as cache:
        assert png_bytes(bars([1, 2, 3]), tight=True) == fresh
        assert png_bytes(bars([1, 2, 3]), tight=True) == fresh
        changed = png_bytes(bars([1, 2, 3.5]), tight=True)
        untight = png_bytes(bars([1, 2, 3]))
    assert (cache.draws, cache.hits) == (3, 1) and len(savefigs) == 4
    assert changed != fresh and untight != fresh


def test_a_damaged_file_is_drawn_again_and_unused_files_are_removed(tmp_path, savefigs):
    with drawn_figures(tmp_path):
        first = png_bytes(bars([1, 2, 3]), tight=True)
        png_bytes(bars([4, 5]), tight=True)
    (kept, other) = sorted(tmp_path.glob("*.png"), key=lambda p: p.stat().st_size, reverse=True)
    kept.write_bytes(kept.read_bytes()[:100])  # truncated: its bytes no longer match its name
    with drawn_figures(tmp_path) as cache:
        assert png_bytes(bars([1, 2, 3]), tight=True) == first
    assert (cache.draws, cache.hits) == (1, 0)
    assert [p.read_bytes() for p in tmp_path.glob("*.png")] == [first], "the other figure was not used"
    with pytest.raises(RuntimeError), drawn_figures(tmp_path):
        raise RuntimeError("a build that fails keeps every file")
    assert len(list(tmp_path.glob("*.png"))) == 1


def test_a_rebuilt_report_draws_nothing_and_equals_a_fresh_drawing(tmp_path, savefigs):
    from bench.cli import main

    out = tmp_path / "run"
    assert main(["--dataset", "digits", "--epochs", "1", "--latent-dim", "4", "--limit", "250",
                 "--models", "dense_ae,vae,pca", "--evaluators", "reconstruction,generation,umap",
                 "--out", str(out), "-q"]) == 0
    drawn = len(savefigs)
    assert drawn == len(list((out / "figures").glob("*.png"))) >= 7, "training, metrics, UMAP, cost, ..."
    files = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    build_report(out)
    assert len(savefigs) == drawn, "every figure reused"
    fresh = tmp_path / "fresh"
    shutil.copytree(out, fresh)
    shutil.rmtree(fresh / "figures" / ".drawn")
    build_report(fresh)
    assert len(savefigs) == 2 * drawn
    for name in ("report.md", "report.html", *(f"figures/{p.name}" for p in (out / "figures").glob("*.png"))):
        assert (out / name).read_bytes() == (fresh / name).read_bytes().replace(b"fresh", b"run"), name
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == files
