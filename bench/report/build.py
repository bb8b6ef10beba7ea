"""results directory -> report.md + self-contained report.html + figures/*.png.

Why it reads only the results directory: a report can be regenerated (`--report-only`), diffed
and shared without torch or the data; rebuilding from the same directory gives the same files
(nothing here reads a clock).

    build_report(Path("reports/mnist-z32-e8"))
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import atomic

from bench.report import figures
from bench.report.drawn import drawn_figures
from bench.cards import Cards
from bench.report.comparison import compare
from bench.report.tuning import tuning_section
from bench.report.cost import cost_section
from bench.faults import reached
from bench.report.leaderboard import Leaderboard, board_table, focus_dim, grouped, leaderboard
from bench.report.tasks import draw_figures, pairwise_figure, task_sections
from bench.report.render import Block, Bullets, Figure, Heading, Para, Table, to_html, to_markdown
from bench.store.run_record import RunManifest, collect_results, read_run_manifest, run_cells
from bench.store.cell import CellStore
from bench.report.verdict import verdict_blocks
from bench.train_spec import spec_text

BASELINE_HELP = ("Baselines: pca has as many components as the latent size; raw is the pixels "
                 "themselves (no reconstruction metrics). A learned code is only useful where it "
                 "beats them.")


def build_report(out: Path) -> Path:
    """Write results.csv (each seed's values with their intervals), summary.csv (per model and
    metric: mean, interval, bold, rank), report.md, report.html and figures/ (reusing the
    figures drawn before that are drawn the same: `bench.report.drawn`)."""
    out = Path(out)
    with drawn_figures(out / "figures" / ".drawn"):
        return _build_report(out)


def _build_report(out: Path) -> Path:
    manifest = read_run_manifest(out)
    cells = run_cells(out, manifest)
    results, failures = collect_results(cells, manifest.evaluators)
    cards = Cards(manifest.evaluator_cards)
    comp = compare(cells, results, cards)
    reached("results")
    atomic.write_text(out / "results.csv", comp.results.to_csv(index=False))
    atomic.write_text(out / "summary.csv", comp.summary.to_csv(index=False))
    model_order = list(dict.fromkeys(c.cfg.model for c in cells))
    board = leaderboard(comp.summary, cards, model_order)
    showcase = _showcase_cells(cells)
    inputs = figures.FigureInputs(showcase, results, model_order, manifest.data["n_train"])
    core = [m for m in board.metrics if not cards.task_of(m)]
    images = {
        "figures/training_curves.png": figures.training_curves(showcase),
        "figures/metrics.png": figures.metric_bars(results, model_order, grouped(board, core)),
        "figures/latent_sizes.png": figures.metric_vs_latent(comp.summary, model_order, board.headline),
        "figures/pairwise.png": pairwise_figure(board, comp, [m for m in board.metrics
                                                             if cards.spec(m).headline]),
    }
    images.update(draw_figures(cards, [e for e, c in cards.cards.items() if not c.get("task")], inputs))
    images = {path: png for path, png in images.items() if png is not None}
    tasks, task_images = task_sections(out, board, cards, inputs, manifest)
    for path, png in {**images, **task_images}.items():
        atomic.write_bytes(out / path, png)
    baselines = {m for m, meta in manifest.models.items() if meta.get("family") == "baseline"}
    cost = cost_section(cells, results, cards, comp)
    tuning = tuning_section(manifest.tuning)
    for path, png in {**cost.images, **tuning.images}.items():
        atomic.write_bytes(out / path, png)
    title = f"aebench report: {out.name}"
    blocks = [Heading("Verdict"), *verdict_blocks(board, comp, cards, baselines, cost.verdict)]
    blocks += _blocks(manifest, board, core, cards, cells, failures, images, showcase,
                      tasks + cost.blocks + tuning.blocks)
    atomic.write_text(out / "report.md", to_markdown(blocks, title))
    reached("report")
    atomic.write_text(out / "report.html", to_html(blocks, title, {**images, **task_images, **cost.images, **tuning.images}))
    return out / "report.html"


def _showcase_cells(cells: list[CellStore]) -> dict[str, CellStore]:
    """One cell per model for the figures: the board's latent size (`focus_dim`), the lowest seed."""
    if not cells:
        return {}
    dim = focus_dim(c.cfg.latent_dim for c in cells)
    chosen: dict[str, CellStore] = {}
    for cell in sorted(cells, key=lambda c: c.cfg.seed):
        if cell.cfg.latent_dim == dim and not cell.failed:
            chosen.setdefault(cell.cfg.model, cell)
    return {c.cfg.model: chosen[c.cfg.model] for c in cells if c.cfg.model in chosen}


def _blocks(manifest: RunManifest, board: Leaderboard, core: list[str], cards: Cards,
            cells: list[CellStore], failures: pd.DataFrame, images: dict[str, bytes],
            showcase: dict[str, CellStore], tasks: list[Block]) -> list[Block]:
    cfg, data, env = manifest.config, manifest.data, manifest.environment
    models = list(dict.fromkeys(c.cfg.model for c in cells))
    blocks: list[Block] = [
        Heading("What was run"),
        Bullets([
            f"Dataset: {data['name']}, {data['n_train']:,} training / {data['n_test']:,} test images "
            f"of shape {'x'.join(map(str, data['input_shape']))}",
            f"Models: {', '.join(models)}",
            f"Seeds: {', '.join(map(str, cfg['seeds']))}; latent sizes: "
            f"{', '.join(map(str, cfg['latent_dims']))}",
            f"Training (every model, AdamW): {spec_text(cfg['train'])}; computed in "
            f"{env['precision']}, training version {cells[0].cfg.training_version if cells else '?'}"
            + ("; with a FLOPs budget each model's epochs are in the Model cards"
               if cfg["train"].get("budget_flops") else ""),
            f"Device: {env['device']} ({env.get('threads', '?')} threads"
            + (f"; cells in {manifest.workers} single-thread worker processes" if manifest.workers > 1 else "")
            + "); "
            + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
            + (f"; commit {env['git_commit']}" if env.get("git_commit") else ""),
            "Time by phase (this invocation; cached cells cost ~0): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in manifest.timings.items() if k != "report"),
            *_cost_line(manifest.cost),
            *manifest.notes,
        ]),
    ]
    blocks += _leaderboard_blocks(board, core, cards, manifest.models)
    blocks += [Heading("How to read the metrics", 3),
               Bullets(metric_help(board, cards, core) + [BASELINE_HELP])]
    captions = {**figure_captions(cards),
        "figures/training_curves.png": "Training curves: each model's training reconstruction loss "
        "per epoch, relative to its first epoch (log scale; models use different loss units). "
        "A curve still falling steeply at the end means the budget cut that model short.",
        "figures/metrics.png": "Every metric as bars, one panel per metric, grouped like the "
        "leaderboard (arrows give the direction); error bars are the standard deviation over seeds.",
        "figures/latent_sizes.png": "Headline metrics against latent size (log scale), one line per "
        "model; error bars are the leaderboard's 95% intervals (seeds and test images). Where a line "
        "flattens, a larger code stops paying; a change inside the bars is not a size effect.",
        "figures/pairwise.png": "Who is separable from whom, per headline metric: the share of "
        "bootstrap resamples (same test images for both models) in which the row model beats the "
        "column model. Near 1 or 0: a real difference; cells marked = are ties (the 95% interval "
        "of the paired difference contains 0).",
    }
    if images:
        blocks.append(Heading("Figures"))
        dims = {c.cfg.latent_dim for c in showcase.values()}
        if dims:
            blocks.append(Para(f"Figures show latent size {focus_dim(dims)} and each model's lowest seed, "
                               "except the bar chart (every seed) and the latent-size plot (every size)."))
        blocks += [Figure(path, captions[path]) for path in images]
    blocks += tasks
    first_cells = {}
    for cell in cells:  # a model whose every cell failed still gets its card
        first_cells.setdefault(cell.cfg.model, cell)
    blocks += _model_cards(manifest, {m: showcase.get(m, c) for m, c in first_cells.items()})
    blocks.append(Heading("Failed runs"))
    if manifest.repairs:
        blocks += [Para("Damaged files found by the last invocation (each stored file carries its "
                        "SHA-256), moved to the cell's damaged/ folder and recomputed:"),
                   Bullets(manifest.repairs)]
    if failures.empty:
        blocks.append(Para("None: every cell trained and was evaluated."))
    else:
        blocks.append(Table(["model", "seed", "latent_dim", "phase", "reason"],
                            [[str(v) for v in row] for row in failures.itertuples(index=False)]))
    return blocks


def _cost_line(cost: dict | None) -> list[str]:
    if not cost:
        return []
    return [f"Cost of this invocation: {cost['wall_seconds']:.0f} s wall (up to the report), peak "
            f"memory {cost['peak_rss_mb'] / 1024:.2f} GB (largest process), evaluation "
            f"{cost['eval_seconds']:.0f} s = {100 * cost['eval_share']:.0f}% of all compute "
            f"({cost['compute_seconds']:.0f} s, phases summed over processes)"]


def _leaderboard_blocks(board: Leaderboard, metrics: list[str], cards: Cards,
                        models: dict[str, dict]) -> list[Block]:
    blocks: list[Block] = [Heading("Leaderboard")]
    if not board.rows:
        return blocks + [Para("No results: every cell failed (see Failed runs).")]
    blocks.append(Para(
        "One row per model, best rank first; ↑ higher is better, ↓ lower is better. Each value is "
        "the mean over seeds ± half its 95% interval (the HTML shows the interval below it; "
        "results.csv and summary.csv hold the exact bounds). The interval combines the seeds "
        "(Student's t) and the test images (a paired bootstrap). Bold: a set that holds the "
        "best model with 95% confidence (multiple comparisons with the best: a model is out when "
        "one with a better mean beats it by a one-sided paired test at 5% / (models - 1)). "
        "The rank column is the mean of the "
        f"ranks by value on {', '.join(board.headline)} among models of the same latent size; a "
        "model without one of them is not ranked (–). summary.csv gives each rank's 95% interval. "
        "Diagnostics are never bold. Columns are grouped: "
        + "; ".join(f"{g}: {', '.join(ms)}" for g, ms in grouped(board, metrics))
        + ". The tasks below have tables of their own. In the HTML report: click a column header "
        "to sort, a column group to fold it, type in the box to filter by model or family, hover "
        "a header for its meaning; the link above the table downloads it as CSV."))
    return blocks + [board_table(board, metrics, "leaderboard", rank_on=board.headline,
                                 cards=cards, models=models)]


def metric_help(board: Leaderboard, cards: Cards, metrics: list[str]) -> list[str]:
    """One line per declared metric (or family) among `metrics`, from the evaluator cards."""
    lines = {}
    for m in metrics:
        spec = cards.spec(m)
        if spec.help and spec.name not in lines:
            lines[spec.name] = f"{spec.name}: {spec.help}" + (" (diagnostic)" if spec.diagnostic else "")
    return list(lines.values())


def figure_captions(cards: Cards) -> dict[str, str]:
    return {f["path"]: f["caption"] for card in cards.cards.values() for f in card.get("figures", [])}


def _model_cards(manifest: RunManifest, showcase: dict[str, CellStore]) -> list[Block]:
    meta = manifest.models
    blocks: list[Block] = [Heading("Model cards"), Para(
        "From the registry: what each model is, where it comes from, and its resolved "
        "configuration (the shared budget plus the model's own hyperparameters). Then what it "
        "cost: parameters (and stored buffers); FLOPs per image of a forward pass (encode and "
        "decode) and of a training step (forward and backward), counted; the training FLOPs, "
        "epochs and seconds; encoding throughput on the test set (images/s on this run's "
        "device); and the memory a training step needs (weights, gradients and Adam state, plus "
        "the activations kept for the backward pass, counted at the run's batch size).")]
    rows, costs = [], []
    for model, cell in showcase.items():
        m = dict(meta.get(model, {}))
        info = cell.train_info()
        c = cell.cfg
        own = {k: v for k, v in m.items()
               if k not in ("description", "paper", "family", "knobs", "tunables")}
        trained = {**c.train.to_dict(), "epochs": c.train.epochs or info.get("epochs", "?")}
        config = {**trained, "latent_dim": c.latent_dim, **own, **m.get("knobs", {}), **c.knobs}
        rows.append([model, m.get("description", ""), m.get("paper", ""),
                     ", ".join(f"{k}={v}" for k, v in config.items()), m.get("tunables", "")])
        costs.append([model, *_cost_cells(info, cell.encode_rate())])
    blocks.append(Table(["model", "description", "reference", "resolved config",
                         "own knobs: default (scale range)"], rows))
    blocks.append(Table(["model", "parameters", "forward MFLOPs / image", "training MFLOPs / image",
                         "epochs", "training FLOPs", "training s", "encode images/s",
                         "training memory MB"], costs))
    return blocks


def _cost_cells(info: dict, encode_rate: float | None) -> list[str]:
    if not info:
        return ["–"] * 7 + ["failed"]
    trained = info.get("trainable", True)

    def get(key, fmt, scale=1.0):
        value = info.get(key)
        return "–" if value is None or value != value else fmt.format(value / scale)
    return [f"{info['n_params']:,}", get("forward_flops_per_image", "{:.2f}", 1e6),
            get("train_flops_per_image", "{:.2f}", 1e6) if trained else "fitted",
            get("epochs", "{:.0f}") if trained else "–",
            get("train_flops", "{:.3g}") if trained else "–",
            f"{info['seconds']:.1f}", f"{encode_rate:,.0f}" if encode_rate else "–",
            get("train_memory_mb", "{:.1f}")]
