"""A published reference run: a results directory without its weights and codes, keeping every
cell's evaluation records and compact per-image outcomes, each record re-signed and verified.

Why: comparing a new model with the zoo should not mean retraining the zoo. The outcomes are
what paired intervals need (MTEB's results repository, HELM's per-instance outputs, lm-eval's
`--log_samples`), so a reference keeps them for every cell, and a run with `--against` copies
the cells in and trains only the new models (`bench.run.against`). Weights (model.pt), training
snapshots and codes (embeddings.npz) are left out: they are most of a run's bytes and no report
needs them; the records that declared them are rewritten to declare what is kept. Figure
arrays (art_*.npz) are kept for each model's lowest seed only, the one the report's figures show.

    python -m bench.tools.publish_reference RUN reports/example
"""
from __future__ import annotations

import shutil
from pathlib import Path

from bench import atomic
from bench.store.cell import CellStore
from bench.store.records import write_record
from bench.store.run_record import StoreError, read_run_manifest, run_cells

LEFT_OUT = ("model.pt", "embeddings.npz")  # and resume snapshots, locks, damaged/
RUN_FILES = ("report.md", "report.html", "results.csv", "summary.csv")


def export_reference(src: Path, dst: Path, test_sha256: str | None = None, arrays: bool = True,
                     run_files: tuple[str, ...] = RUN_FILES) -> dict[str, int]:
    """Write the reference form of results directory `src` into the new directory `dst`;
    returns the bytes kept, by kind. A damaged file in `src` is an error, never published.
    `arrays=False` leaves out every per-image array (outcomes and figure arrays): a published
    study, read rather than compared against, keeps its records and report only."""
    src, dst = Path(src), Path(dst)
    manifest = read_run_manifest(src)
    if dst.exists() and any(dst.iterdir()):
        raise StoreError(f"{dst} is not empty; a reference is written into a new directory")
    if test_sha256 and manifest.data.get("test_sha256", test_sha256) != test_sha256:
        raise StoreError(f"{src} was made on another test set than the one given")
    sizes: dict[str, int] = {}
    cells = run_cells(src, manifest)
    shown = showcase_cells(cells)
    for cell in cells:
        if cell.failed:
            raise StoreError(f"{cell.cfg.dirname} failed; a reference holds finished cells only")
        target = dst / "cells" / cell.cfg.dirname
        target.mkdir(parents=True)
        atomic.write_bytes(target / "config.json", (cell.dir / "config.json").read_bytes())
        for name in sorted(p.name for p in cell.dir.glob("*.json")):
            if name in ("config.json", "resume.json", "error.json"):  # error.json: a retried failure
                continue
            record, damage = cell.inspect(name)
            if damage is not None or record is None:
                raise StoreError(f"{cell.cfg.dirname}: {damage or name + ' is missing'}")
            kept = {f: d for f, d in record.get("files", {}).items() if f not in LEFT_OUT
                    and (cell.cfg.dirname in shown or not f.startswith("art_"))
                    and (arrays or not f.endswith(".npz"))}
            for file in kept:
                shutil.copyfile(cell.dir / file, target / file)
                kind = file.split("_")[0] if "_" in file else file
                sizes[kind] = sizes.get(kind, 0) + (target / file).stat().st_size
            body = {k: v for k, v in record.items() if k != "sha256"}
            write_record(target / name, {**body, "files": kept})
    for name in run_files:
        if (src / name).exists():
            shutil.copyfile(src / name, dst / name)
    for folder in ("figures", "judge"):
        if (src / folder).is_dir():
            shutil.copytree(src / folder, dst / folder, ignore=shutil.ignore_patterns(".drawn", "*.pt"))
    if test_sha256:
        manifest.data = {**manifest.data, "test_sha256": test_sha256}
    manifest.write(dst)
    return sizes


def showcase_cells(cells: list[CellStore]) -> set[str]:
    """The cells whose figure arrays the report draws: each model's lowest seed, per dataset
    and latent size (the report's figures take the lowest seed at the smallest size)."""
    lowest: dict[tuple, CellStore] = {}
    for cell in cells:
        key = (cell.cfg.dataset, cell.cfg.model, cell.cfg.latent_dim)
        if key not in lowest or cell.cfg.seed < lowest[key].cfg.seed:
            lowest[key] = cell
    return {cell.cfg.dirname for cell in lowest.values()}


def reference_cells(ref: Path) -> list[CellStore]:
    """The reference's cells, read-only (a damaged record is skipped by the report, and
    `bench.run.against` refuses a reference with one)."""
    return run_cells(Path(ref), read_run_manifest(Path(ref)))
