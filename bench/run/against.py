"""`--against DIR`: train and evaluate only the named models, on the grid of a published
reference run, and report them together with the reference's models as if all had run at once.

Why it is sound: a reference keeps every cell's per-image outcomes (`bench.store.reference`),
so the new models' outcomes pair with the reference's image by image and seed by seed, as long
as the test set, the seeds, the training spec, the training version and every evaluator's
version are the same. Anything else is refused with what differs, before anything is written.

    ref = read_reference("reports/example"); cfg = with_protocol(cfg, ref)
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from bench.config import CellConfig, ConfigError, RunConfig
from bench.data.datasets import ImageData
from bench.evaluators import Evaluator
from bench.store.cell import CellStore
from bench.store.run_record import RunManifest, StoreError, read_run_manifest


@dataclass(frozen=True)
class Reference:
    root: Path
    manifest: RunManifest
    cells: list[CellConfig]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(c.model for c in self.cells))


def read_reference(path: str | Path) -> Reference:
    root = Path(path)
    try:
        manifest = read_run_manifest(root)
    except StoreError as exc:
        raise ConfigError(f"--against {root}: {exc}") from None
    return Reference(root, manifest, [CellConfig.from_dict(c) for c in manifest.cells])


def with_protocol(cfg: RunConfig, ref: Reference) -> RunConfig:
    """`cfg` on the reference's grid: its seeds, latent sizes and evaluators. The data and the
    training spec stay the run's own, and `check` refuses them unless they equal the
    reference's (a setting given by mistake must not be silently replaced)."""
    rc = ref.manifest.config
    return replace(cfg, seeds=tuple(rc["seeds"]), latent_dims=tuple(rc["latent_dims"]),
                   evaluators=tuple(sorted(ref.manifest.evaluators)))


def check(ref: Reference, models: list[str], cells: list[CellConfig], data: ImageData,
          evaluators: list[Evaluator], judge: str | None) -> None:
    """Refuse a comparison that would not be paired: one ConfigError naming every difference."""
    problems = []
    same_name = sorted(set(models) & set(ref.models))
    if same_name:
        problems.append(f"{', '.join(same_name)} {'is' if len(same_name) == 1 else 'are'} already in "
                        "the reference (name only the new models with --models)")
    if ref.manifest.data.get("test_sha256") != data.test_sha256:
        problems.append(f"the test set differs ({data.name}, {len(data.x_test):,} images here)")
    theirs, ours = ref.cells[0], cells[0]
    if theirs.train != ours.train:
        diff = {k: (v, getattr(ours.train, k)) for k, v in theirs.train.to_dict().items()
                if getattr(ours.train, k) != v}
        problems.append("the training spec differs: " + ", ".join(
            f"{k} {a} there, {b} here" for k, (a, b) in diff.items())
            + (" (this machine resolves --precision auto differently: give --precision "
               f"{theirs.train.precision})" if "precision" in diff else ""))
    if theirs.training_version != ours.training_version:
        problems.append(f"training version {theirs.training_version} there, {ours.training_version} here")
    versions = {e.name: e.version for e in evaluators}
    for name, version in sorted(ref.manifest.evaluators.items()):
        if versions.get(name) != version:
            problems.append(f"evaluator {name} is version {version} there, {versions.get(name)} here")
    if judge != ref.manifest.judge and any(e.needs_judge for e in evaluators):
        problems.append(f"the judge is {ref.manifest.judge} there, {judge} here")
    for cell in ref.cells:  # every record and declared file by its SHA-256, before any use
        store = CellStore(ref.root, cell)
        for record in sorted(store.dir.glob("*.json")):
            if record.name != "config.json" and (damage := store.inspect(record.name)[1]):
                raise ConfigError(f"--against {ref.root}: {cell.dirname}: {damage}; the reference "
                                  "is damaged (restore it, e.g. with git checkout)")
    if problems:
        raise ConfigError(f"--against {ref.root}: not comparable: " + "; ".join(problems)
                          + ". Run the whole grid instead, or use the aebench that made the reference")


def import_cells(ref: Reference, out: Path) -> None:
    """Copy the reference's cells into `out` (the report reads them there and verifies every
    record and file it uses by SHA-256); a cell already there is left as it is."""
    for cell in ref.cells:
        target = Path(out) / "cells" / cell.dirname
        if not target.exists():
            shutil.copytree(ref.root / "cells" / cell.dirname, target)
