"""run.json is a typed record (`RunManifest`): what the runner writes is what every reader gets,
and a run.json that is readable JSON but lacks what a report needs is damaged, not a KeyError
deep inside the report."""
import json

import pytest

from bench.store.run_record import (STORE_FORMAT, DamagedManifestError, RunManifest, StoreError,
                              read_run_manifest)


def manifest() -> RunManifest:
    return RunManifest(config={"seeds": [0]}, cells=[], evaluators={"probe": 2},
                       evaluator_cards={"probe": {"metrics": []}}, models={"pca": {"family": "baseline"}},
                       data={"name": "digits", "n_train": 10, "n_test": 5, "input_shape": [1, 8, 8]},
                       environment={"device": "cpu"}, timings={"data": 0.5}, judge="mnist-v1", workers=2)


def test_written_manifest_reads_back_equal(tmp_path):
    manifest().write(tmp_path)
    assert json.loads((tmp_path / "run.json").read_text())["store_format"] == STORE_FORMAT
    assert read_run_manifest(tmp_path) == manifest()


def test_optional_fields_default_when_absent(tmp_path):
    record = {k: v for k, v in json.loads(json.dumps(manifest().__dict__)).items()
              if k not in ("timings", "judge", "workers", "notes", "repairs", "cost", "executor")}
    (tmp_path / "run.json").write_text(json.dumps({"store_format": STORE_FORMAT, **record}))
    read = read_run_manifest(tmp_path)
    assert (read.timings, read.judge, read.workers, read.notes, read.cost) == ({}, None, 1, [], None)


@pytest.mark.parametrize("missing", ["cells", "evaluator_cards", "data"])
def test_manifest_without_what_the_report_needs_is_damaged(tmp_path, missing):
    record = {k: v for k, v in manifest().__dict__.items() if k != missing}
    (tmp_path / "run.json").write_text(json.dumps({"store_format": STORE_FORMAT, **record}))
    with pytest.raises(DamagedManifestError, match=f"no {missing}"):
        read_run_manifest(tmp_path)


def test_other_store_format_is_refused_not_damaged(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"store_format": STORE_FORMAT - 1}))
    with pytest.raises(StoreError, match="incompatible") as info:
        read_run_manifest(tmp_path)
    assert not isinstance(info.value, DamagedManifestError)
