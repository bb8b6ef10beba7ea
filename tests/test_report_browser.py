"""The HTML report in a real browser: headless Chromium (Debian's package) driven by Playwright.

In CI (`CI` set) a missing browser is a failure, not a skip: `.ci/run` installs it.
"""
import os
import re
import shutil

import pandas as pd
import pytest

from bench.cli import main

pytestmark = pytest.mark.long(seconds=21)  # end to end: scheduled first (conftest.py)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "run"
    # one seed: the intervals the page must show then cover the test images (what two seeds
    # change in the numbers is test_cli's). Every default evaluator but umap_cluster, the
    # costliest, whose columns are k-means' kind (the all-models run in test_cli has it).
    from bench.run.runner import evaluator_names

    evaluators = ",".join(e for e in evaluator_names(("default",)) if e != "umap_cluster")
    assert main(["--dataset", "digits", "--epochs", "2", "--latent-dim", "8", "--seeds", "0",
                 "--models", "dense_ae,conv_vae,vq_vae,pca,raw", "--evaluators", evaluators,
                 "--out", str(out), "-q"]) == 0
    return out


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
