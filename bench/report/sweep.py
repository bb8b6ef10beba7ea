"""The index of a multi-dataset sweep: `OUT/report.md`, `OUT/report.html` and `OUT/results.csv`
(every dataset's rows, with the `dataset` column), faceted by dataset.

Why an index rather than one big report: each dataset already has a full report of its own
(`OUT/<dataset>/report.html`); what only the sweep can show is the same models side by side
across datasets: does the ranking on MNIST hold on harder data?

    build_sweep_report(Path("reports/mnist+kmnist-z32-e8"))
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench import atomic  # noqa: E402
from bench.faults import reached  # noqa: E402
from bench.train_spec import spec_text  # noqa: E402
from bench.report.figures import png_bytes  # noqa: E402
from bench.cards import Cards  # noqa: E402
from bench.report.leaderboard import Leaderboard, board_table, focus_dim, leaderboard  # noqa: E402
from bench.report.render import Block, Bullets, Figure, Heading, Para, Table, to_html, to_markdown  # noqa: E402
from bench.store.run_record import RESULT_COLUMNS, RunManifest, StoreError, read_run_manifest  # noqa: E402

FIGURE = "figures/datasets.png"
SWEEP_FILE = "sweep.json"


def is_sweep(out: Path) -> bool:
    return (Path(out) / SWEEP_FILE).exists()


def build_sweep_report(out: Path, rebuild_runs: bool = False) -> Path:
    """The index; with `rebuild_runs`, every dataset's own report first (`--report-only`)."""
    out = Path(out)
    if rebuild_runs:
        from bench.report.build import build_report
        for name in read_sweep(out)[2]:
            build_report(out / name)
    sweep, manifests, results = read_sweep(out)
    combined = (pd.concat(results.values(), ignore_index=True) if results
                else pd.DataFrame(columns=RESULT_COLUMNS))
    reached("sweep-index")
    atomic.write_text(out / "results.csv", combined.to_csv(index=False))
    boards = {}
    for name in results:
        summary = pd.read_csv(out / name / "summary.csv") if (out / name / "summary.csv").exists() else None
        if summary is not None:
            cards = Cards(manifests[name].evaluator_cards)
            boards[name] = leaderboard(summary, cards, list(manifests[name].models))
    headline = list(dict.fromkeys(m for b in boards.values() for m in b.headline))
    images = {}
    png = headline_bars(combined, list(results), headline)
    if png is not None:
        images[FIGURE] = png
        atomic.write_bytes(out / FIGURE, png)
    blocks = _blocks(sweep, manifests, boards, images, headline)
    title = f"aebench sweep: {out.name}"
    atomic.write_text(out / "report.md", to_markdown(blocks, title))
    atomic.write_text(out / "report.html", to_html(blocks, title, images))
    return out / "report.html"


def side_by_side(boards: dict[str, Leaderboard], metrics: list[str]) -> Table:
    """Rows (model, latent size), a column group per dataset, `metrics` in each; the best value
    of each dataset's column is bold."""
    rows_keys = list(dict.fromkeys(k for board in boards.values() for k in board.rows))
    rows_keys.sort(key=lambda k: k[1])
    rows, bold = [], []
    for key in rows_keys:
        row, marks = [key[0], str(key[1])], [False, False]
        for board in boards.values():
            cells = board.cells.get(key, {})
            for metric in metrics:
                row.append(cells[metric].text() if metric in cells else "–")
                marks.append(metric in cells and cells[metric].best)
        rows.append(row)
        bold.append(marks)
    arrows = {m: "↑" if any(b.higher_is_better.get(m, False) for b in boards.values()) else "↓"
              for m in metrics}
    headers = ["model", "latent_dim"] + [f"{name} {m} {arrows[m]}" for name in boards for m in metrics]
    groups = [("", 2)] + [(name, len(metrics)) for name in boards]
    return Table(headers, rows, bold, sortable=True, id="datasets", groups=groups)


def headline_bars(results: pd.DataFrame, datasets: list[str], headline: list[str]) -> bytes | None:
    """One panel per headline metric: a bar per model and dataset (error bars: sd over seeds),
    at the report's latent size (`focus_dim`)."""
    data = results[results["metric"].isin(headline)]
    if data.empty:
        return None
    data = data[data["latent_dim"] == focus_dim(data["latent_dim"])]
    metrics = [m for m in headline if m in set(data["metric"])]
    sns.set_theme(style="whitegrid")
    n_models = data["model"].nunique()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 0.35 * n_models + 1.6),
                             squeeze=False)
    order = list(dict.fromkeys(data["model"]))
    for ax, metric in zip(axes[0], metrics):
        sub = data[data["metric"] == metric]
        sns.barplot(data=sub, y="model", x="value", hue="dataset", hue_order=datasets,
                    order=[m for m in order if m in set(sub["model"])], errorbar="sd", ax=ax)
        higher = bool(sub["higher_is_better"].iloc[0])
        ax.set_title(f"{metric} {'↑' if higher else '↓'}", fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize=8)
        if ax is axes[0][-1]:
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), title="dataset", frameon=False)
        else:
            ax.get_legend().remove()
    return png_bytes(fig, tight=True)


def read_sweep(out: Path) -> tuple[dict, dict[str, dict], dict[str, pd.DataFrame]]:
    """The sweep's record, the run manifest of every dataset that has run, and the results of
    every dataset that has them (name -> table)."""
    try:
        sweep = json.loads((Path(out) / SWEEP_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{out}: cannot read {SWEEP_FILE} ({exc}): not a multi-dataset sweep") from None
    manifests, results = {}, {}
    for name in sweep["datasets"]:
        run_dir = Path(out) / name
        try:
            manifests[name] = read_run_manifest(run_dir)
        except StoreError:  # not run yet, or its data could not be had
            continue
        if (run_dir / "results.csv").exists():
            results[name] = pd.read_csv(run_dir / "results.csv")
    return sweep, manifests, results


def _data_line(name: str, manifest: RunManifest | None) -> str:
    if manifest is None:
        return f"{name}: no results (its data could not be had, or it has not run yet)"
    data = manifest.data
    return (f"{name}: {data['n_train']:,} training / {data['n_test']:,} test images of shape "
            f"{'x'.join(map(str, data['input_shape']))}; full report {name}/report.html")


def _blocks(sweep: dict, manifests: dict[str, RunManifest], boards: dict[str, Leaderboard],
            images: dict, headline: list[str]) -> list[Block]:
    cfg = sweep["config"]
    blocks: list[Block] = [
        Heading("What was run"),
        Bullets([_data_line(name, manifests.get(name)) for name in sweep["datasets"]] + [
            f"Seeds: {', '.join(map(str, cfg['seeds']))}; latent sizes: "
            f"{', '.join(map(str, cfg['latent_dims']))}",
            f"Training (every model, every dataset, AdamW): {spec_text(cfg['train'])}",
            "Each dataset is an ordinary run in its own directory (its report has the figures, "
            "tasks, model cards and failures); this page only puts them side by side.",
        ]),
        Heading("Datasets side by side"),
    ]
    if not boards:
        return blocks + [Para("No results yet: no dataset has finished.")]
    blocks.append(Para(
        f"The headline metrics ({', '.join(headline)}) of every model, one column group per "
        "dataset; bold: the best per dataset and every model tied with it; mean over seeds ± half "
        "its 95% interval. A model that leads on every dataset has a code that does not depend on MNIST's "
        "particulars."))
    metrics = [m for m in headline if any(m in b.metrics for b in boards.values())]
    blocks.append(side_by_side(boards, metrics))
    if FIGURE in images:
        blocks.append(Figure(FIGURE, "Headline metrics by dataset (one latent size: the default when run): a bar per "
                             "model and dataset; error bars are the standard deviation over seeds."))
    for name, board in boards.items():
        cards = Cards(manifests[name].evaluator_cards)
        core = [m for m in board.metrics if not cards.task_of(m)]
        blocks += [Heading(f"Leaderboard: {name}", 3),
                   Para(f"As in {name}/report.html: best rank first; rank is the mean rank (with "
                        f"ties) on {', '.join(board.headline)} within a latent size."),
                   board_table(board, core, f"leaderboard-{name}", rank_on=board.headline,
                               cards=cards, models=manifests[name].models)]
    return blocks
