"""One run of every model with every default evaluator on digits (13 cells in two worker
processes; every other CLI test takes the serial path), read by the tests below: its files and
report, its resume, its report rebuilt from the directory alone, and its HTML page in a real
browser: headless Chromium (Debian's package) driven by Playwright.

One run for all of them: the browser test had a five-model run of its own, with the same
dataset, epochs, latent size and seed. What two seeds add (intervals over seeds) is
model-agnostic: test_cli's test_two_seeds_give_seed_intervals_and_two_workers_the_same_results.

In CI (`CI` set) a missing browser is a failure, not a skip: `.ci/run` installs it.
"""
import json
import os
import re
import shutil

import pandas as pd
import pytest

from bench.cli import config_from_args, main, parser
from bench.plugins import load_all_models
from bench.run.runner import run
from bench.store.run_record import RESULT_COLUMNS
from tests.test_cli import FAST, assert_intervals


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def argv(out) -> list[str]:
    return FAST + ["--out", str(out), "--seeds", "0", "--workers", "2"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("all") / "run"
    assert main(argv(out)) == 0
    return out


def test_every_model_and_default_evaluator_reach_results_and_report(report):
    out = report
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert set(results["model"]) == set(load_all_models().names())
    assert set(results["seed"]) == {0}
    metrics = set(results["metric"])
    assert {"recon_mse", "recon_bce", "kmeans_purity", "kmeans_acc", "kmeans_nmi", "kmeans_ari",
            "probe_acc", "umap_trustworthiness", "knn_acc", "probe_acc_10", "probe_acc_100",
            "umap_cluster_acc", "denoise_psnr_mask", "denoise_gain_gauss_high", "ood_auroc_rotated",
            "ood_auroc_patches", "denoise_inpaint_mse", "fid_floor",
            "fid_judge", "gen_confidence", "gen_coverage", "interp_confidence"} <= metrics
    assert set(results.loc[results["metric"] == "fid_judge_prior", "model"]) == {"vae", "conv_vae", "beta_vae"}
    assert not results["metric"].str.startswith("anomaly_auroc").any(), "one-class is opt-in"
    assert not ((results["model"] == "raw") & results["metric"].str.startswith("recon")).any()
    purity = results.pivot_table(index=["model", "seed"], columns="metric", values="value")
    assert (purity["kmeans_purity"] >= purity["kmeans_acc"]).all()
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    assert "<table id=\"leaderboard\" class=\"sortable\">" in html
    for task in ("denoising", "anomaly-detection", "generation"):
        assert f'<table id="task-{task}" class="sortable">' in html
    figures = {p.name for p in (out / "figures").glob("*.png")}
    assert figures == {"reconstructions.png", "umap.png", "training_curves.png", "metrics.png",
                       "label_efficiency.png", "denoising.png", "ood_roc.png", "anomaly_extremes.png",
                       "generated.png", "interpolation.png", "pairwise.png",
                       "quality_vs_compute.png", "pareto.png"}
    assert html.count('<img alt="') == html.count('src="data:image/png;base64,') == len(figures)
    assert "judge classifier" in md and "test accuracy 0.9" in md
    assert "<link" not in html and "<script src" not in html and "url(" not in html
    assert "(figures/reconstructions.png)" in md and (out / "figures" / "umap.png").exists()
    assert md.index("## Verdict") < md.index("## What was run") < md.index("## Leaderboard")
    assert "it trained one seed per model, so the intervals cover the test images only" in md
    # the cost section, and every trainable cell's curve up to its last epoch
    assert md.index("## Cost: quality against training compute") < md.index("## Model cards")
    assert "Does the ranking hold?" in md and "Pareto front on probe_acc:" in md
    for curve in out.glob("cells/*/checkpoints.json"):
        epochs = [p["epoch"] for p in json.loads(curve.read_text())["points"]]
        assert epochs in ([0], [1, 2]), curve  # baselines: one point; FAST trains 2 epochs
    assert "| training MFLOPs / image |" in md
    assert_intervals(out, ["recon_mse", "probe_acc", "kmeans_acc", "knn_acc"], n_seeds=1)


def test_a_second_run_finds_every_cell_finished_and_computes_nothing(report):
    results = pd.read_csv(report / "results.csv")
    mtimes = {p: p.stat().st_mtime_ns for p in report.glob("cells/*/model.pt")}
    outcome = run(config_from_args(parser().parse_args(argv(report))), report)
    assert (outcome.trained, outcome.evaluated) == (0, 0)
    assert mtimes == {p: p.stat().st_mtime_ns for p in report.glob("cells/*/model.pt")}
    pd.testing.assert_frame_equal(pd.read_csv(report / "results.csv"), results)


def test_the_report_is_rebuilt_from_the_directory_alone_byte_for_byte(report):
    html, md = (report / "report.html").read_text(), (report / "report.md").read_text()
    assert main(["--report-only", "--out", str(report)]) == 0
    assert (report / "report.html").read_text() == html and (report / "report.md").read_text() == md


@pytest.fixture(scope="module")
def page_factory():
    if CHROMIUM is None or not _has_playwright():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: chromium or playwright is missing")
        pytest.skip("needs Debian's chromium and the playwright package (python3 dev.py test installs playwright)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


def _has_playwright() -> bool:
    try:
        import playwright  # noqa: F401
        return True
    except ImportError:
        return False


def test_report_renders_offline_and_sorts(report, page_factory):
    page = page_factory.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((report / "report.html").as_uri())
    page.wait_for_load_state("load")

    widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert len(widths) >= 4 and all(w > 0 for w in widths), widths
    assert errors == []
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []

    assert page.locator("h2").first.inner_text() == "Verdict", "the answer comes first"
    intervals = page.locator("#leaderboard small.ci")
    assert intervals.count() > 0 and intervals.first.is_visible(), "intervals shown under the values"
    assert re.fullmatch(r"\[-?[\d.e-]+, -?[\d.e-]+\]", intervals.first.inner_text())
    n_models = pd.read_csv(report / "results.csv")["model"].nunique()
    rows = page.locator("#leaderboard tbody tr")
    assert rows.count() == n_models

    def column(name):
        header = page.locator("#leaderboard thead tr:last-child th", has_text=name).first
        index = header.evaluate("th => th.cellIndex")
        return header, [r.locator("td").nth(index).inner_text() for r in rows.all()]

    header, before = column("probe_acc")
    header.click()
    _, ascending = column("probe_acc")
    values = [float(v.split()[0]) for v in ascending]
    assert values == sorted(values), "first click sorts ascending"
    header.click()
    _, descending = column("probe_acc")
    assert [float(v.split()[0]) for v in descending] == sorted(values, reverse=True)
    page.screenshot(path=str(report / "screenshot.png"), full_page=True)
    assert (report / "screenshot.png").stat().st_size > 10_000


def test_the_first_screen_shows_who_is_good_at_what(report, page_factory):
    """(#33) The overview comes before any other table: a row per model, a shaded rank per job."""
    page = page_factory.new_page(viewport={"width": 1400, "height": 900})
    page.goto((report / "report.html").as_uri())
    first = page.locator("table").first
    assert first.get_attribute("id") == "overview"
    assert first.bounding_box()["y"] < 900, "on the first screen"
    n_models = pd.read_csv(report / "results.csv")["model"].nunique()
    assert first.locator("tbody tr").count() == n_models
    shaded = first.locator("td[style*=background]")
    assert shaded.count() >= n_models and re.fullmatch(r"\d+(\.5)?( \(\d+(\.5)?–\d+(\.5)?\))?",
                                                        shaded.first.inner_text())
    assert page.locator("table#verdict").count() == 1


def test_the_leaderboard_works_on_a_laptop_screen(report, page_factory, tmp_path):
    """(#33) Sticky header and model column, a filter by name or family, foldable column
    groups, help on hover and a CSV download from the page itself."""
    page = page_factory.new_page(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    page.goto((report / "report.html").as_uri())
    board = page.locator("#leaderboard")
    rows = board.locator("tbody tr")
    n_models = rows.count()
    box = page.locator("div.scroll", has=board)
    # sticky: scroll the table's box down and right; the header and the model column stay put
    header = board.locator("thead th").first
    top_before = header.bounding_box()["y"]
    box.evaluate("b => { b.scrollTop = 200; b.scrollLeft = 600; }")
    assert abs(header.bounding_box()["y"] - top_before) < 2
    assert abs(rows.nth(n_models - 1).locator("td").first.bounding_box()["x"]
               - box.bounding_box()["x"]) < 3, "the model column stays at the left edge"
    box.evaluate("b => { b.scrollTop = 0; b.scrollLeft = 0; }")
    # filter by a family (conv) and by a name
    search = page.locator('input.filter[data-table="leaderboard"]')
    search.fill("conv")
    visible = [r.locator("td").first.inner_text() for r in rows.all() if r.is_visible()]
    assert sorted(visible) == ["conv_ae", "conv_vae"]
    search.fill("pca")
    assert [r.locator("td").first.inner_text() for r in rows.all() if r.is_visible()] == ["pca"]
    search.fill("")
    assert sum(r.is_visible() for r in rows.all()) == n_models
    # fold the clustering group to its first column, then unfold it
    group = board.locator("th.group", has_text="clustering").first
    visible_headers = lambda: sum(h.is_visible() for h in board.locator("thead tr:last-child th").all())
    before = visible_headers()
    group.click()
    assert visible_headers() < before and group.inner_text().startswith("▸")
    group.click()
    assert visible_headers() == before
    # help on hover, and the CSV
    assert "squared error" in board.locator("thead th", has_text="recon_mse").first.get_attribute("title")
    with page.expect_download() as info:
        page.locator('a.csv[download="leaderboard.csv"]').click()
    info.value.save_as(tmp_path / "board.csv")
    table = pd.read_csv(tmp_path / "board.csv")
    assert len(table) == n_models and {"recon_mse", "recon_mse_ci_low", "recon_mse_ci_high"} <= set(table.columns)
    summary = pd.read_csv(report / "summary.csv").set_index(["model", "metric"])
    row = table.set_index("model").loc["dense_ae"]
    assert row["recon_mse"] == pytest.approx(summary.loc[("dense_ae", "recon_mse"), "mean"], rel=1e-5)
