"""The committed reference (`reports/example`) is intact and current: every record and file
verifies by its SHA-256, and it is what this code would compute (the same model code, training
version, cell format and evaluator versions), so `--against reports/example` is accepted and
the README's findings describe this code, not an older one. When a test here fails, the
reference is stale: rerun it (README, *What the reference run found*)."""
from bench.config import CELL_FORMAT
from bench.model_api import model_fingerprint
from bench.plugins import load_all_evaluators, load_all_models
from bench.run.against import read_reference
from bench.store.cell import CellStore
from bench.train import TRAINING_VERSION
from bench.tools.findings import REFERENCE


def test_the_reference_verifies_by_its_checksums():
    ref = read_reference(REFERENCE)
    assert len(ref.cells) == len(ref.models) * len(ref.manifest.config["seeds"]) >= 13 * 5
    for cell in ref.cells:
        store = CellStore(ref.root, cell)
        records = sorted(p.name for p in store.dir.glob("*.json") if p.name != "config.json")
        assert records, cell.dirname
        for name in records:
            assert store.inspect(name)[1] is None, f"{cell.dirname}/{name}"
        assert not list(store.dir.glob("model.pt")) and not list(store.dir.glob("embeddings.npz"))


def test_the_reference_is_what_this_code_computes():
    ref = read_reference(REFERENCE)
    load_all_models()
    evaluators = load_all_evaluators()
    for cell in ref.cells:
        assert cell.format == CELL_FORMAT and cell.training_version == TRAINING_VERSION, cell.dirname
        assert cell.code == model_fingerprint(cell.model), f"{cell.model}'s code changed since the reference"
    for name, version in ref.manifest.evaluators.items():
        assert evaluators.get(name).builder.version == version, f"evaluator {name} changed version"
