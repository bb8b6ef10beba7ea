"""Config parsing: TOML files, flags over TOML, and the cache key's sensitivity."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.cli import config_from_args, main, parse_args
from bench.config import ConfigError, RunConfig, read_toml


def write(tmp_path, text):
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_toml_values_are_used_and_flags_override_them(tmp_path):
    path = write(tmp_path, '[run]\nmodels = ["conv_ae", "pca"]\nepochs = 3\nlatent_dim = [8, 16]\n'
                           'seeds = "0,1"\nlr = 1\n')
    cfg = config_from_args(parse_args(["--config", str(path)]))
    assert (cfg.models, cfg.train.epochs, cfg.latent_dims, cfg.seeds, cfg.train.lr) == (
        ("conv_ae", "pca"), 3, (8, 16), (0, 1), 1.0)
    cfg = config_from_args(parse_args(["--config", str(path), "--epochs", "5"]))
    assert cfg.train.epochs == 5 and cfg.latent_dims == (8, 16)


def test_every_run_option_is_declared_once_and_reaches_its_field_by_flag_and_by_toml(tmp_path):
    """bench.options is the one declaration: a RunConfig or TrainSpec field without an Option
    (or an Option without a field) fails here, and each option's flag and TOML key set that
    field. `threads` is the one spec field that is no option (one thread per cell, always)."""
    import json
    from dataclasses import fields

    from bench.options import OPTIONS
    from bench.train_spec import TrainSpec

    declared = [o.field for o in OPTIONS]
    owned = [f.name for f in fields(RunConfig) if f.name != "train"]
    owned += [f.name for f in fields(TrainSpec) if f.name != "threads"]
    assert sorted(declared) == sorted(owned)
    assert len(set(declared)) == len(declared)
    samples = {"patterns": ("dense_ae,pca", ["dense_ae", "pca"], ("dense_ae", "pca")),
               "ints": ("3,4", [3, 4], (3, 4)), "int": ("3", 3, 3), "float": ("0.5", 0.5, 0.5),
               "flops": ("2e12", 2e12, 2e12), "str": ("cpu", "cpu", "cpu"), "workers": ("2", 2, 2)}
    for o in OPTIONS:
        if o.kind == "bool":
            assert getattr(parse_args([o.flag]), o.field) is True
            flag_value, toml_value, expected = None, True, True
        else:
            flag_value, toml_value, expected = samples[o.kind]
            if o.choices:
                flag_value = toml_value = expected = o.choices[-1]
            assert getattr(parse_args([o.flag, flag_value]), o.field) == expected, o.flag
        if o.toml_key:
            path = write(tmp_path, f"{o.toml_key} = {json.dumps(toml_value)}\n")
            assert getattr(parse_args(["--config", str(path)]), o.field) == expected, o.toml_key


@pytest.mark.parametrize("text, message", [
    ("epoch = 3\n", "unknown key 'epoch'. Did you mean 'epochs'?"),
    ("epochs = \"three\"\n", "epochs has the wrong type"),
    ("epochs = true\n", "epochs has the wrong type"),
    ("seeds = [0, \"one\"]\n", "seeds has the wrong type"),
    ("epochs = 0\n", "--epochs must be a positive integer"),
    ("epochs = [\n", "not valid TOML"),
    ("epochs = 3\nbudget_flops = 2e12\n", "--epochs and --budget-flops are alternatives"),
    ("weight_decay = -1.0\n", "--weight-decay must be in [0, 10)"),
    ("lr_schedule = \"cosine\"\n", "--lr-schedule must be constant, linear; got 'cosine'"),
    ("precision = \"bf16\"\n", "--precision must be auto, float32, mixed; got 'bf16'"),
])
def test_bad_toml_exits_2_naming_the_key(tmp_path, capsys, text, message):
    path = write(tmp_path, text)
    assert main(["--config", str(path), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_toml_file_is_a_clear_error():
    with pytest.raises(ConfigError, match="does not exist"):
        read_toml("/nonexistent/run.toml")


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "a_file"
    target.write_text("x")
    assert main(["--dataset", "digits", "--out", str(target / "sub")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert target.read_text() == "x"


def test_results_directory_from_an_incompatible_version_is_refused(tmp_path, capsys):
    out = tmp_path / "old"
    out.mkdir()
    (out / "run.json").write_text('{"store_format": 999}')
    assert main(["--dataset", "digits", "--models", "pca", "--out", str(out)]) == 2
    assert "incompatible" in capsys.readouterr().err
    assert (out / "run.json").read_text() == '{"store_format": 999}'


@settings(max_examples=60, deadline=None)
@given(epochs=st.integers(-5, 50), batch=st.integers(-5, 600), dims=st.lists(st.integers(-3, 900), max_size=4),
       seeds=st.lists(st.integers(-3, 9), max_size=4), lr=st.floats(allow_nan=True, allow_infinity=True))
def test_validation_accepts_exactly_the_valid_configs(epochs, batch, dims, seeds, lr):
    cfg = RunConfig.of(epochs=epochs, batch_size=batch, latent_dims=tuple(dims), seeds=tuple(seeds), lr=lr)
    valid = (epochs > 0 and batch > 0 and dims and all(d > 0 for d in dims) and seeds
             and all(s >= 0 for s in seeds) and 0 < lr < 10
             and len(set(dims)) == len(dims) and len(set(seeds)) == len(seeds))
    if valid:
        assert cfg.validated() == cfg
    else:
        with pytest.raises(ConfigError):
            cfg.validated()


@settings(max_examples=40, deadline=None)
@given(epochs=st.integers(1, 100), other=st.integers(1, 100), seed=st.integers(0, 5))
def test_cell_key_changes_with_every_setting_that_matters(epochs, other, seed):
    a = RunConfig.of(epochs=epochs).cell("vae", seed, 32)
    b = RunConfig.of(epochs=other).cell("vae", seed, 32)
    assert (a.key == b.key) == (epochs == other)
    assert a.key != RunConfig.of(epochs=epochs).cell("vae", seed + 1, 32).key
    assert a.key != RunConfig.of(epochs=epochs).cell("conv_ae", seed, 32).key
    assert a.key != RunConfig.of(epochs=epochs, weight_decay=1e-4).cell("vae", seed, 32).key
    assert a.key != RunConfig.of(epochs=epochs).cell("vae", seed, 32, training_version=2).key


def test_out_that_is_not_writable_is_refused(tmp_path, capsys, monkeypatch):
    """Permissions cannot be tested as root, so the check's own input is denied instead."""
    import os

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real_access(p, mode))
    assert main(["--dataset", "digits", "--out", str(tmp_path / "out")]) == 2
    assert "is not writable" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_auto_workers_is_one_per_core_at_most_one_per_cell_and_one_on_gpu(monkeypatch):
    from bench import config

    monkeypatch.setattr(config, "cpu_cores", lambda: 4)
    assert config.effective_workers("auto", n_cells=13, on_cpu=True) == 4
    assert config.effective_workers("auto", n_cells=3, on_cpu=True) == 3
    assert config.effective_workers("auto", n_cells=13, on_cpu=False) == 1
    assert config.effective_workers(2, n_cells=13, on_cpu=True) == 2
    assert RunConfig(workers="auto").validated().workers == "auto"
    with pytest.raises(ConfigError, match="--workers must be a positive integer"):
        RunConfig(workers=0).validated()


def test_parallel_cells_start_longest_first_and_keep_their_order_within_a_family():
    from bench.run.execute import longest_first

    cfg = RunConfig()
    names = ["pca", "dense_ae", "conv_ae", "linear_ae", "vae", "conv_vae", "raw"]
    cells = [cfg.cell(m, s, 32) for m in names for s in (0, 1)]
    order = [(c.model, c.seed) for c in longest_first(cells)]
    # raw (no training, but every evaluator on its 784 pixels) with the dense cells, ahead of
    # pca and linear_ae: started last, it kept one worker busy for a minute while the other idled
    assert order == [("conv_ae", 0), ("conv_ae", 1), ("conv_vae", 0), ("conv_vae", 1),
                     ("dense_ae", 0), ("dense_ae", 1), ("vae", 0), ("vae", 1), ("raw", 0), ("raw", 1),
                     ("pca", 0), ("pca", 1), ("linear_ae", 0), ("linear_ae", 1)]
