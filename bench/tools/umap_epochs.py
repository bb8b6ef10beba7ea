"""What `umap_cluster`'s layout epochs buy: its accuracy and seconds at several epoch counts, on
the codes of a finished run's cells (the evaluator's subset, seeds, mixture and scoring).

Why: its 10-D UMAP layout is most of the largest evaluator of the default run;
this measures what a cheaper setting would give up before anyone changes the metric.

    python -m bench.tools.umap_epochs reports/mnist-z32-e8 --models conv_ae,vae --epochs 200,100
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.data.datasets import load_dataset
from bench.evaluators._cluster_metrics import matched_accuracy
from bench.evaluators.umap_cluster import umap_clusters
from bench.evaluators.umap_embed import fit_umap, umap_subset
from bench.store.run_record import read_run_manifest

LAYOUTS = 3  # layout seeds per cell: "acc" is the evaluator's (the first), "seed sd" their spread
OTHER_SEEDS = 1_000  # apart from any training seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.umap_epochs", description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="a finished results directory (its cells' codes)")
    parser.add_argument("--models", default="conv_ae,dense_ae,vae,pca,linear_ae")
    parser.add_argument("--epochs", default="200,100,50", help="layout epochs to compare")
    args = parser.parse_args(argv)
    config = read_run_manifest(args.out).config
    data = load_dataset(config["datasets"][0], config["data_root"], config["limit"])
    subset = umap_subset(data.y_test)
    y, k = data.y_test[subset], len(np.unique(data.y_train))
    fit_umap(np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32), 2)  # load the kernels
    print(f"{'cell':34s} {'epochs':>6s} {'acc':>7s} {'seed sd':>8s} {'seconds':>8s}")
    for model in args.models.split(","):
        for cell in sorted((args.out / "cells").glob(f"{model}-*")):
            seed = json.loads((cell / "config.json").read_text())["seed"]
            z = np.load(cell / "embeddings.npz")["z_test"][subset].astype(np.float32)
            for epochs in map(int, args.epochs.split(",")):
                start = time.perf_counter()
                # the evaluator's own layout (the training seed's) first, then other layout seeds
                accs = [matched_accuracy(y, umap_clusters(z, k, seed + OTHER_SEEDS * r, n_epochs=epochs)[0])
                        for r in range(LAYOUTS)]
                print(f"{cell.name:34s} {epochs:6d} {accs[0]:7.3f} {np.std(accs):8.3f} "
                      f"{time.perf_counter() - start:8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
