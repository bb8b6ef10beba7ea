"""results directory -> report.md + self-contained report.html + figures/*.png.

Why it reads only the results directory: a report can be regenerated (`--report-only`), diffed
and shared without torch or the data; rebuilding from the same directory gives the same files
(nothing here reads a clock).

    build_report(Path("reports/mnist-z32-e8"))
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import atomic, figures
from bench.leaderboard import (CORE_GROUPS, HEADLINE, Leaderboard, board_table, group_of, grouped,
                               leaderboard)
from bench.report_tasks import task_sections
from bench.render import Block, Bullets, Figure, Heading, Para, Table, to_html, to_markdown
from bench.store import CellStore, collect_results, read_run_manifest, run_cells

METRIC_HELP = [
    "recon_mse / recon_bce: per-pixel squared error and binary cross-entropy between a test image "
    "and its reconstruction (images in [0, 1]); lower is better.",
    "kmeans_*: k-means with k = 10 on the test codes. purity lets several clusters share a digit; "
    "acc matches clusters to digits one-to-one (Hungarian), so purity >= acc; nmi and ari are "
    "chance-corrected agreement scores.",
    "probe_acc: test accuracy of a logistic regression fitted on the standardised training codes "
    "(how linearly separable the digits are in the code); probe_acc_10 / _100 / _1000: the same "
    "probe fitted on only that many labelled images per class (label efficiency).",
    "knn_acc: accuracy of a 10-nearest-neighbour vote among the training codes (do neighbours in "
    "the code share a digit?).",
    "umap_cluster_acc / _nmi: a 10-component Gaussian mixture on a 10-D UMAP of the test codes "
    "(the N2D protocol), scored like kmeans_acc / kmeans_nmi; first 5,000 test codes.",
    "umap_trustworthiness: how well the 2-D UMAP keeps each test code's 10 nearest neighbours (1 = all kept).",
    "Baselines: pca has as many components as the latent size; raw is the 784 pixels themselves "
    "(no reconstruction metrics). A learned code is only useful where it beats them.",
]


def build_report(out: Path) -> Path:
    out = Path(out)
    manifest = read_run_manifest(out)
    cells = run_cells(out, manifest)
    results, failures = collect_results(cells, manifest.get("evaluators"))
    model_order = list(dict.fromkeys(c.cfg.model for c in cells))
    board = leaderboard(results, model_order)
    showcase = _showcase_cells(cells)
    core = [m for m in board.metrics if group_of(m) in CORE_GROUPS]
    images = {
        "figures/reconstructions.png": figures.reconstruction_grid(showcase),
        "figures/umap.png": figures.umap_panels(showcase),
        "figures/training_curves.png": figures.training_curves(showcase),
        "figures/metrics.png": figures.metric_bars(results, model_order, grouped(core)),
        "figures/latent_sizes.png": figures.metric_vs_latent(results, model_order, HEADLINE),
    }
    images = {path: png for path, png in images.items() if png is not None}
    tasks, task_images = task_sections(out, results, board, showcase, model_order, manifest)
    for path, png in {**images, **task_images}.items():
        atomic.write_bytes(out / path, png)
    title = f"aebench report: {out.name}"
    blocks = _blocks(manifest, board, core, cells, failures, images, showcase, tasks)
    atomic.write_text(out / "report.md", to_markdown(blocks, title))
    atomic.write_text(out / "report.html", to_html(blocks, title, {**images, **task_images}))
    return out / "report.html"


def _showcase_cells(cells: list[CellStore]) -> dict[str, CellStore]:
    """One cell per model for the figures: the first latent size and the lowest seed."""
    if not cells:
        return {}
    dim = cells[0].cfg.latent_dim
    chosen: dict[str, CellStore] = {}
    for cell in sorted(cells, key=lambda c: c.cfg.seed):
        if cell.cfg.latent_dim == dim and not cell.failed:
            chosen.setdefault(cell.cfg.model, cell)
    return {c.cfg.model: chosen[c.cfg.model] for c in cells if c.cfg.model in chosen}


def _blocks(manifest: dict, board: Leaderboard, core: list[str], cells: list[CellStore],
            failures: pd.DataFrame, images: dict[str, bytes], showcase: dict[str, CellStore],
            tasks: list[Block]) -> list[Block]:
    cfg, data, env = manifest["config"], manifest["data"], manifest["environment"]
    timings = manifest.get("timings", {})
    models = list(dict.fromkeys(c.cfg.model for c in cells))
    blocks: list[Block] = [
        Heading("What was run"),
        Bullets([
            f"Dataset: {data['name']}, {data['n_train']:,} training / {data['n_test']:,} test images "
            f"of shape {'x'.join(map(str, data['input_shape']))}",
            f"Models: {', '.join(models)}",
            f"Seeds: {', '.join(map(str, cfg['seeds']))}; latent sizes: "
            f"{', '.join(map(str, cfg['latent_dims']))}",
            f"Training budget (every model): {cfg['epochs']} epochs, batch size {cfg['batch_size']}, "
            f"Adam, learning rate {cfg['lr']}"
            + ("; mixed precision (--amp)" if cfg.get("amp") else ""),
            f"Device: {env['device']} ({env.get('threads', '?')} threads"
            + (f"; cells in {manifest['workers']} single-thread worker processes" if manifest.get("workers", 1) > 1 else "")
            + "); "
            + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
            + (f"; commit {env['git_commit']}" if env.get("git_commit") else ""),
            "Time by phase (this invocation; cached cells cost ~0): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if k != "report"),
            *_cost_line(manifest.get("cost")),
            *manifest.get("notes", []),
        ]),
    ]
    blocks += _leaderboard_blocks(board, core)
    blocks += [Heading("How to read the metrics", 3), Bullets(METRIC_HELP)]
    captions = {
        "figures/reconstructions.png": "Reconstructions: top row, test originals (two per digit); "
        "below, each model's reconstruction of them. Blurry or wrong digits mean information lost "
        "in the code.",
        "figures/umap.png": "UMAP of each model's test codes, coloured by the true digit (same colours "
        "in every panel). Tight, separated blobs mean the code groups digits without labels.",
        "figures/training_curves.png": "Training curves: each model's training reconstruction loss "
        "per epoch, relative to its first epoch (log scale; models use different loss units). "
        "A curve still falling steeply at the end means the budget cut that model short.",
        "figures/metrics.png": "Every metric as bars, one panel per metric, grouped like the "
        "leaderboard (arrows give the direction); error bars are the standard deviation over seeds.",
        "figures/latent_sizes.png": "Headline metrics against latent size (log scale), one line per "
        "model; error bars are the standard deviation over seeds. Where a line flattens, a larger "
        "code stops paying.",
    }
    if images:
        blocks.append(Heading("Figures"))
        dims = {c.cfg.latent_dim for c in showcase.values()}
        if dims:
            blocks.append(Para(f"Figures show latent size {min(dims)} and each model's lowest seed, "
                               "except the bar chart (every seed) and the latent-size plot (every size)."))
        blocks += [Figure(path, captions[path]) for path in images]
    blocks += tasks
    first_cells = {}
    for cell in cells:  # a model whose every cell failed still gets its card
        first_cells.setdefault(cell.cfg.model, cell)
    blocks += _model_cards(manifest, {m: showcase.get(m, c) for m, c in first_cells.items()})
    blocks.append(Heading("Failed runs"))
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


def _leaderboard_blocks(board: Leaderboard, metrics: list[str]) -> list[Block]:
    blocks: list[Block] = [Heading("Leaderboard")]
    if not board.rows:
        return blocks + [Para("No results: every cell failed (see Failed runs).")]
    blocks.append(Para(
        "One row per model, best rank first; ↑ higher is better, ↓ lower is better; the best value "
        "in each column is bold; mean ± std over seeds where there is more than one. rank is the "
        f"mean of the model's ranks on {', '.join(HEADLINE)} among models of the same latent size "
        "(1 = best; a metric a model lacks is skipped). Columns are grouped: "
        + "; ".join(f"{g}: {', '.join(ms)}" for g, ms in grouped(metrics))
        + ". The tasks below (denoising, anomaly detection, generation) have tables of their own. "
        "Click a column header in the HTML report to sort."))
    return blocks + [board_table(board, metrics, "leaderboard")]


def _model_cards(manifest: dict, showcase: dict[str, CellStore]) -> list[Block]:
    meta = manifest.get("models", {})
    blocks: list[Block] = [Heading("Model cards"), Para(
        "From the registry: what each model is, where it comes from, its size, the time it took, "
        "and its resolved configuration (the shared budget plus the model's own hyperparameters).")]
    rows = []
    for model, cell in showcase.items():
        m = dict(meta.get(model, {}))
        info = cell.train_info()
        c = cell.cfg
        own = {k: v for k, v in m.items() if k not in ("description", "paper", "family")}
        config = {"epochs": c.epochs, "batch_size": c.batch_size, "lr": c.lr,
                  "latent_dim": c.latent_dim, **({"amp": True} if c.amp else {}), **own}
        rows.append([model, m.get("description", ""), m.get("paper", ""),
                     f"{info['n_params']:,}" if info else "–",
                     f"{info['seconds']:.1f}" if info else "failed",
                     ", ".join(f"{k}={v}" for k, v in config.items())])
    blocks.append(Table(["model", "description", "reference", "parameters", "train / fit seconds",
                         "resolved config"], rows))
    return blocks
