"""Unit tests of the report's two table-and-text pieces, without a run: the renderer (one block
list -> Markdown and HTML that say the same, every text escaped) and the leaderboard (a
summary table + evaluator cards -> ordered rows and columns with intervals, marks and ranks)."""
import base64
import re

import pandas as pd

from bench.cards import Cards
from bench.report.leaderboard import Cell, board_table, leaderboard
from bench.report.render import Bullets, Figure, Heading, Para, Table, to_html, to_markdown

PNG = b"\x89PNG\r\n\x1a\n not really a picture"


def blocks(text: str = "vae") -> list:
    return [Heading(f"Results {text}"), Para(f"a & b {text}"), Bullets([f"first {text}", "second"]),
            Table(["model", "acc ↑"], [[text, "0.9000 ± 0.0100"], ["pca", "0.8000"]],
                  bold=[[False, True], [False, False]], sortable=True, id="board",
                  groups=[("", 1), ("probing", 1)], notes=[["", "[0.8900, 0.9100]"], ["", ""]]),
            Figure("figures/a.png", f"caption {text}")]


def test_markdown_and_html_say_the_same_thing():
    md = to_markdown(blocks(), "Report")
    page = to_html(blocks(), "Report", images={"figures/a.png": PNG})
    assert md.splitlines()[:4] == ["# Report", "", "## Results vae", ""]
    for line in ["a &amp; b vae", "- first vae", "- second", "| model | acc ↑ |", "|---|---|",
                 "| vae | **0.9000 ± 0.0100** |", "| pca | 0.8000 |", "![caption vae](figures/a.png)"]:
        assert line in md.splitlines(), line
    for piece in ["<h1>Report</h1>", "<h2>Results vae</h2>", "<p>a &amp; b vae</p>",
                  "<li>first vae</li><li>second</li>", '<table id="board" class="sortable">',
                  '<th colspan="1" class="group"></th><th colspan="1" class="group">probing</th>',
                  '<td><b>0.9000 ± 0.0100</b><br><small class="ci">[0.8900, 0.9100]</small></td>',
                  "<td>0.8000</td>", "<figcaption>caption vae</figcaption>",
                  f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"']:
        assert piece in page, piece
    assert "[0.8900, 0.9100]" not in md, "the interval's second line is HTML only"


def test_every_text_is_escaped_in_both_formats():
    evil = '<img src=x onerror=alert(1)>'
    md = to_markdown(blocks(evil), evil)
    page = to_html(blocks(evil), evil, images={"figures/a.png": PNG})
    assert "<img src=x" not in md and "<img src=x" not in page
    # title (twice in HTML), heading, paragraph, bullet, table cell, figure alt and caption
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") == 8
    assert md.count("&lt;img src=x onerror=alert(1)&gt;") == 7  # the caption twice: image, text


def test_a_markdown_table_cell_stays_on_its_row():
    md = to_markdown([Table(["model", "note"], [["a|b", "two\nlines"]])], "T")
    assert "| a\\|b | two lines |" in md.splitlines()


def test_the_html_page_fetches_nothing():
    page = to_html(blocks(), "Report", images={"figures/a.png": PNG})
    assert "default-src 'none'" in page and "img-src data:" in page
    assert re.findall(r'(?:src|href)="([^"]*)"', page) == [f"data:image/png;base64,{base64.b64encode(PNG).decode()}"]


CARDS = Cards({
    "probe": {"order": 30, "metrics": [{"name": "probe_acc", "higher_is_better": True, "help": "",
                                        "group": "probing", "headline": True}]},
    "reconstruction": {"order": 10, "metrics": [
        {"name": "recon_mse", "higher_is_better": False, "help": "", "group": "reconstruction",
         "headline": True},
        {"name": "recon_bce", "higher_is_better": False, "help": "", "group": "reconstruction"}]},
    "umap": {"order": 5, "metrics": [{"name": "umap_trustworthiness", "higher_is_better": True,
                                       "help": "", "group": "diagnostics", "diagnostic": True}]},
})


def summary_row(model, dim, metric, mean, rank, best=False, diagnostic=False):
    return {"model": model, "latent_dim": dim, "metric": metric, "mean": mean, "std": 0.0,
            "n_seeds": 1, "best": best, "ci_low": mean - 0.01, "ci_high": mean + 0.01,
            "rank": rank, "rank_low": rank, "rank_high": rank, "diagnostic": diagnostic}


def test_the_leaderboard_orders_columns_by_the_cards_and_rows_by_size_then_run_order():
    summary = pd.DataFrame([
        summary_row("vae", 16, "probe_acc", 0.93, 1, best=True),
        summary_row("vae", 8, "umap_trustworthiness", 0.97, 0, diagnostic=True),
        summary_row("vae", 8, "probe_acc", 0.90, 2),
        summary_row("dense_ae", 8, "probe_acc", 0.92, 1, best=True),
        summary_row("dense_ae", 8, "recon_mse", 0.010, 1, best=True),
        summary_row("vae", 8, "recon_mse", 0.020, 2),
        summary_row("dense_ae", 8, "recon_bce", 0.080, 1, best=True),
        summary_row("mystery_model", 8, "mystery_metric", 1.0, 1),
    ])
    board = leaderboard(summary, CARDS, model_order=["dense_ae", "vae"])
    # groups in the cards' evaluator order (umap's card comes first), but diagnostics and
    # undeclared metrics last
    assert board.metrics == ["recon_mse", "recon_bce", "probe_acc", "umap_trustworthiness", "mystery_metric"]
    assert board.headline == ["recon_mse", "probe_acc"]
    assert board.rows == [("dense_ae", 8), ("vae", 8), ("mystery_model", 8), ("vae", 16)]
    assert board.header("recon_mse") == "recon_mse ↓" and board.header("probe_acc") == "probe_acc ↑"
    headline_and_diagnostic = ["recon_mse", "probe_acc", "umap_trustworthiness"]
    assert board.rank(("vae", 8), headline_and_diagnostic) == 2.0, "the diagnostic's rank does not count"
    # vae has no recon_bce: it is not ranked on fewer metrics than dense_ae, but not ranked
    assert board.rank(("vae", 8), ["recon_mse", "recon_bce", "probe_acc"]) is None
    table = board_table(board, ["recon_mse", "probe_acc"], "board")
    assert [row[:4] for row in table.rows] == [["dense_ae", "8", "1", "1.00"], ["vae", "8", "1", "2.00"],
                                                ["mystery_model", "8", "1", "–"], ["vae", "16", "1", "1.00"]]
    assert table.rows[0][4:] == ["0.0100 ± 0.0100", "0.9200 ± 0.0100"]
    assert table.bold[0][4:] == [True, True] and table.bold[1][4:] == [False, False]
    assert table.notes[0][4] == "[0.0000, 0.0200]"
    assert table.groups == [("", 4), ("reconstruction", 1), ("probing", 1)]


def test_a_cell_without_an_interval_shows_its_mean_alone():
    assert Cell(0.5, 0.0, 1, False).text() == "0.5000" and Cell(0.5, 0.0, 1, False).interval_text() == ""
    assert Cell(0.5, 0.0, 1, False, ci_low=0.4, ci_high=0.7).text(2) == "0.50 ± 0.15"


VERDICT_CARDS = Cards({
    "reconstruction": {"order": 10, "metrics": [
        {"name": "recon_mse", "higher_is_better": False, "help": "", "group": "reconstruction",
         "headline": True, "verdict": "reconstruction"}]},
    "probe": {"order": 30, "metrics": [
        {"name": "probe_acc", "higher_is_better": True, "help": "", "group": "probing",
         "headline": True, "verdict": "linear probe"},
        {"name": "ood_auroc", "higher_is_better": True, "help": "", "group": "anomaly",
         "verdict": "anomaly"}]},
})


def test_the_overview_shows_who_is_good_at_what_in_headline_rank_order():
    """(#33) Models x jobs: rank with its interval, bold where nothing is separably better,
    shaded in HTML; a saturated job is left out; rows by headline rank."""
    from bench.report.overview import overview
    rows = []
    for model, mse, acc, auroc in [("a", 0.02, 0.95, 0.999), ("b", 0.01, 0.90, 0.998), ("c", 0.03, 0.80, 0.997)]:
        rows += [summary_row(model, 8, "recon_mse", mse, rank=0), summary_row(model, 8, "probe_acc", acc, rank=0),
                 summary_row(model, 8, "ood_auroc", auroc, rank=0)]
    summary = pd.DataFrame(rows)
    for metric in ("recon_mse", "probe_acc", "ood_auroc"):
        sign = 1 if metric == "recon_mse" else -1
        part = summary["metric"] == metric
        summary.loc[part, "rank"] = (sign * summary.loc[part, "mean"]).rank().to_numpy()
    summary["rank_low"], summary["rank_high"] = summary["rank"], summary["rank"]
    summary.loc[(summary["model"] == "a") & (summary["metric"] == "probe_acc"), ["best", "rank_high"]] = [True, 2]
    summary.loc[(summary["model"] == "b") & (summary["metric"] == "recon_mse"), "best"] = True
    table = overview(leaderboard(summary, VERDICT_CARDS), VERDICT_CARDS)
    assert table.headers == ["model", "headline rank", "reconstruction", "linear probe"], "saturated job out"
    assert [r[0] for r in table.rows] == ["a", "b", "c"]  # a: (2 + 1) / 2 ties b, run order; c last
    assert table.rows[0][2:] == ["2", "1 (1–2)"] and table.bold[0][2:] == [False, True]
    assert table.shade[0][2:] == [0.5, 1.0] and table.shade[2][2:] == [0.0, 0.0]
    assert 'style="background:hsl(140,55%,60%)"><b>1 (1–2)</b>' in to_html([table], "T", {})


def test_the_verdict_is_a_table_with_the_leader_its_ties_and_its_margin():
    from bench.report.comparison import Comparison
    from bench.report.verdict import HEADERS, verdict_blocks
    summary = pd.DataFrame([summary_row("a", 8, "probe_acc", 0.95, 1, best=True),
                            summary_row("b", 8, "probe_acc", 0.94, 2, best=True),
                            summary_row("pca", 8, "probe_acc", 0.80, 3)]).assign(n_seeds=3)
    board = leaderboard(summary, VERDICT_CARDS)
    comp = Comparison(summary, summary, {}, [0, 1, 2])
    table = [b for b in verdict_blocks(board, comp, VERDICT_CARDS, {"pca"}, []) if getattr(b, "id", "") == "verdict"][0]
    assert table.headers == HEADERS
    assert table.rows == [["linear probe", "probe_acc ↑", "a", "0.95 [0.94, 0.96]", "b (with 3 seeds)",
                           "a vs pca: +0.15"]]


def test_a_latent_size_study_is_judged_at_the_default_size_and_others_at_their_smallest():
    """The verdict of a 16/32/64 run speaks of z32, the reference's size, not of z16."""
    from bench.report.comparison import Comparison
    from bench.report.verdict import jobs, limits
    summary = pd.DataFrame([summary_row(model, dim, "probe_acc", acc, rank, best=rank == 1)
                            for dim, (a, b) in {16: (0.90, 0.95), 32: (0.97, 0.93), 64: (0.90, 0.95)}.items()
                            for model, acc, rank in (("a", a, 1 if a > b else 2), ("b", b, 1 if b > a else 2))]
                           ).assign(n_seeds=3)
    board = leaderboard(summary, VERDICT_CARDS)
    assert board.dim == 32
    comp = Comparison(summary, summary, {}, [0, 1, 2])
    (job,) = jobs(board, comp, VERDICT_CARDS, set())
    assert job.leader == "a", "z32's leader; z16 and z64 have b"
    assert "The verdict compares models at latent size 32; the tables show every size." in limits(board, comp, VERDICT_CARDS)
    assert leaderboard(summary[summary.latent_dim != 32], VERDICT_CARDS).dim == 16
