"""How the cost of a run grows: wall time against training-set size and against the number of
models, each point a real run through the same runner, drawn as one figure.

Why: a benchmark users grow (more data, more models) should cost linearly more, not worse; a
log-log plot with a slope-1 reference line shows at a glance whether it does.

    python -m bench.tools.scaling --out reports/perf      # scaling.json + scaling.png
    python -m bench.tools.scaling --sizes 1000,4000 --model-counts 1,2 --epochs 1
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench import atomic
from bench.config import RunConfig
from bench.run.runner import run
from bench.store.run_record import read_run_manifest

SIZE_MODELS = ("dense_ae", "conv_ae", "vae", "pca")
COUNT_MODELS = ("dense_ae", "vae", "sparse_ae", "denoising_ae", "wae_mmd", "beta_vae", "vq_vae",
                "contractive_ae")


def timed_run(models: tuple[str, ...], limit: int, epochs: int, evaluators: tuple[str, ...],
              dataset: str = "mnist") -> dict:
    """One fresh run (a temporary results directory, serial); its wall time and phase times."""
    with tempfile.TemporaryDirectory(prefix="aebench-scaling-") as tmp:
        cfg = RunConfig.of(models=models, limit=limit, epochs=epochs, evaluators=evaluators,
                        datasets=(dataset,), workers=1, out=tmp).validated()
        start = time.perf_counter()
        run(cfg)
        wall = time.perf_counter() - start
        timings = read_run_manifest(Path(tmp)).timings
    per_evaluator = {k.removeprefix("eval:"): v for k, v in timings.items() if k.startswith("eval:")}
    return {"models": len(models), "images": limit, "wall_s": wall,
            "train_s": timings.get("train", 0.0), "eval_s": sum(per_evaluator.values()),
            "eval_by_evaluator_s": per_evaluator}


def measure(sizes: list[int], counts: list[int], epochs: int, evaluators: tuple[str, ...],
            dataset: str = "mnist") -> dict:
    timed_run(SIZE_MODELS, min(sizes), epochs, evaluators, dataset)  # warm-up: imports, caches
    by_size = [timed_run(SIZE_MODELS, n, epochs, evaluators, dataset) for n in sizes]
    by_count = [timed_run(COUNT_MODELS[:k], max(sizes[:2]), epochs, evaluators, dataset) for k in counts]
    return {"dataset": dataset, "epochs": epochs, "evaluators": list(evaluators),
            "size_models": list(SIZE_MODELS),
            "by_size": by_size, "by_count": by_count}


def figure(result: dict) -> bytes:
    import matplotlib
    import matplotlib.pyplot as plt
    import seaborn as sns

    from bench.report.figures import png_bytes

    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8))
    panels = [(axes[0], result["by_size"], "images", "training images (--limit)"),
              (axes[1], result["by_count"], "models", "models in the grid")]
    for ax, rows, key, label in panels:
        xs = [r[key] for r in rows]
        for phase, style in (("wall_s", "o-"), ("train_s", "s--"), ("eval_s", "^:")):
            ax.plot(xs, [r[phase] for r in rows], style, label=phase.removesuffix("_s"))
        # slope-1 reference through the last wall-time point: linear growth runs parallel to it
        last = rows[-1]
        ax.plot(xs, [last["wall_s"] * x / last[key] for x in xs], color="grey", lw=0.8,
                label="linear")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(xs, [f"{x:,}" for x in xs])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(label)
        ax.set_ylabel("seconds")
    axes[0].set_title(f"{len(result['size_models'])} models, {result['epochs']} epochs", fontsize=10)
    axes[1].set_title(f"{result['by_count'][0]['images']:,} images, {result['epochs']} epochs",
                      fontsize=10)
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return png_bytes(fig, tight=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tools.scaling", description=__doc__.splitlines()[0])
    # --limit takes N training *and* N test images, so 10,000 (the test set) is the largest
    p.add_argument("--sizes", default="1000,2500,5000,10000")
    p.add_argument("--model-counts", default="1,2,4,8")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--evaluators", default="reconstruction,kmeans,probe,knn",
                   help="evaluators of each run (default: the ones whose cost follows the data)")
    p.add_argument("--out", default="reports/perf", help="folder for scaling.json and scaling.png")
    args = p.parse_args(argv)
    result = measure([int(s) for s in args.sizes.split(",")],
                     [int(k) for k in args.model_counts.split(",")], args.epochs,
                     tuple(args.evaluators.split(",")), args.dataset)
    out = Path(args.out)
    atomic.write_json(out / "scaling.json", result)
    atomic.write_bytes(out / "scaling.png", figure(result))
    for key, rows in (("images", result["by_size"]), ("models", result["by_count"])):
        for r in rows:
            print(f"{key}={r[key]:>6}: wall {r['wall_s']:7.1f} s  train {r['train_s']:7.1f} s  "
                  f"eval {r['eval_s']:6.1f} s")
    print(f"wrote {out / 'scaling.json'} and {out / 'scaling.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
