"""Adding a model from outside the repo, by both documented routes, following the README
literally: its "Add a model" code block is the plugin under test."""
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from tests import warm_runs


ROOT = Path(__file__).resolve().parents[1]
RUN = ["--dataset", "digits", "--epochs", "1", "--latent-dim", "8", "--limit", "200",
       "--evaluators", "reconstruction,kmeans", "-q"]


def readme_model_code() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Add a model", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def readme_entry_point() -> tuple[str, str]:
    """The snippet the README's *Add a model* links to (docs/models.md)."""
    assert "docs/models.md#from-your-own-package" in (ROOT / "README.md").read_text()
    section = (ROOT / "docs" / "models.md").read_text().split("## From your own package", 1)[1]
    toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    name, target = re.search(r'^\s*(\w+)\s*=\s*"([^"]+)"', toml, re.M).groups()
    return name, target


def run_all(args, env_extra=None, cwd=ROOT):
    env = {**os.environ, "AEBENCH_QUIET": "1", **(env_extra or {})}
    return warm_runs.run_all(args, env, cwd)


def assert_in_results(out: Path, model: str):
    results = pd.read_csv(out / "results.csv")
    assert model in set(results["model"])
    assert model in (out / "report.md").read_text()
    assert model in (out / "report.html").read_text()


def test_readme_model_as_a_plugin_file(tmp_path):
    plugin = tmp_path / "tiny_ae.py"
    plugin.write_text(readme_model_code())
    listing = run_all(["--plugin", str(plugin), "--list"])
    assert listing.returncode == 0, listing.stderr
    assert "tiny_ae" in listing.stdout
    out = tmp_path / "out"
    proc = run_all(["--plugin", str(plugin), "--models", "tiny_ae,pca", "--out", str(out), *RUN])
    assert proc.returncode == 0, proc.stderr
    assert_in_results(out, "tiny_ae")


def test_readme_model_as_an_installed_package_entry_point(tmp_path):
    """An installed distribution is a package plus a .dist-info folder on sys.path; the README's
    pyproject snippet becomes that folder's entry_points.txt, as pip would write it."""
    ep_name, target = readme_entry_point()
    package, _, module = target.partition(".")
    site = tmp_path / "site"
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text("")
    (site / package / f"{module}.py").write_text(readme_model_code())
    dist = site / f"{package}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[aebench.models]\n{ep_name} = {target}\n")
    out = tmp_path / "out"
    proc = run_all(["--models", "tiny_ae,pca", "--out", str(out), *RUN], {"PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    assert_in_results(out, "tiny_ae")


@pytest.mark.parametrize("code, message", [
    ("import not_a_module_anywhere\n", "ModuleNotFoundError"),
    ("from bench.model_api import register_model\n"
     "@register_model('vae')\ndef clash(input_shape, latent_dim): pass\n", "already registered"),
    ("x = 1\n", "registered no model"),
])
def test_broken_plugin_is_named_and_the_other_models_still_run(tmp_path, code, message):
    plugin = tmp_path / "broken_plugin.py"
    plugin.write_text(code)
    out = tmp_path / "out"
    proc = run_all(["--plugin", str(plugin), "--models", "pca", "--out", str(out), *RUN])
    assert proc.returncode == 1
    assert "broken_plugin.py" in proc.stderr and message in proc.stderr
    assert set(pd.read_csv(out / "results.csv")["model"]) == {"pca"}


def test_plugin_with_the_wrong_protocol_fails_its_cells_only(tmp_path):
    plugin = tmp_path / "wrong_protocol.py"
    plugin.write_text("from torch import nn\nfrom bench.model_api import register_model\n"
                      "@register_model('not_an_ae', description='returns a plain module')\n"
                      "def not_an_ae(input_shape, latent_dim):\n    return nn.Linear(2, 2)\n")
    out = tmp_path / "out"
    proc = run_all(["--plugin", str(plugin), "--models", "not_an_ae,pca", "--out", str(out), *RUN])
    assert proc.returncode == 1
    assert "not a bench.model_api.Autoencoder" in proc.stderr
    assert set(pd.read_csv(out / "results.csv")["model"]) == {"pca"}
    assert "not a bench.model_api.Autoencoder" in (out / "report.md").read_text()


def test_editing_a_model_files_code_changes_its_cache_key_and_a_comment_does_not(tmp_path):
    from bench.config import RunConfig
    from bench.model_api import MODELS, model_fingerprint
    from bench.plugins import load_plugin_file

    keys = []
    for version in ("", "# edited\n", '"""A new module docstring."""\n', "SCALE = 2.0\n"):
        plugin = tmp_path / f"v{len(keys)}" / "tiny_ae.py"
        plugin.parent.mkdir()
        code = readme_model_code()
        plugin.write_text(version + code if version.startswith('"') else code + version)
        (name,) = load_plugin_file(plugin)
        try:
            keys.append(RunConfig.of().cell(name, 0, 8, code=model_fingerprint(name)).key)
        finally:
            MODELS.remove(name)
    assert keys[0] == keys[1] == keys[2] != keys[3]


def test_workers_load_only_the_plugin_files_of_the_run(tmp_path):
    """A long-lived process that loaded two versions of one plugin model, one after the other,
    can still run a parallel grid: each worker loads only the file the run's model comes from."""
    from bench.cli import main
    from bench.model_api import MODELS
    from bench.plugins import load_plugin_file

    for version in ("", "# edited\n"):
        plugin = tmp_path / f"v{version != ''}" / "tiny_ae.py"
        plugin.parent.mkdir()
        plugin.write_text(readme_model_code() + version)
        load_plugin_file(plugin)
        MODELS.remove("tiny_ae")  # as a test's scratch registry does
    out = tmp_path / "out"
    try:
        assert main(["--plugin", str(plugin), "--models", "tiny_ae,pca", "--workers", "2",
                     "--out", str(out), *RUN]) == 0
    finally:
        MODELS.remove("tiny_ae")
    assert_in_results(out, "tiny_ae")


def readme_evaluator_code() -> str:
    section = (ROOT / "README.md").read_text().split("## Add an evaluator", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_evaluator_as_a_plugin_file_in_worker_processes(tmp_path):
    plugin = tmp_path / "my_eval.py"
    plugin.write_text(readme_evaluator_code())
    out = tmp_path / "out"
    proc = run_all(["--plugin", str(plugin), "--models", "dense_ae,pca", "--workers", "2",
                    "--out", str(out), *RUN[:-3], "--evaluators", "reconstruction,silhouette", "-q"])
    assert proc.returncode == 0, proc.stderr
    results = pd.read_csv(out / "results.csv")
    sil = results[results["metric"] == "silhouette"]
    assert set(sil["model"]) == {"dense_ae", "pca"} and sil["value"].between(-1, 1).all()
    assert (sil["ci_low"] < sil["value"]).all() and (sil["value"] < sil["ci_high"]).all()
    md = (out / "report.md").read_text()
    assert "silhouette ↑" in md.split("## Leaderboard", 1)[1].split("###", 1)[0], "a leaderboard column"
    assert "silhouette: mean silhouette of the test codes grouped by their digit" in md, "its help line"


def test_readme_evaluator_as_an_installed_package_entry_point(tmp_path):
    site = tmp_path / "site"
    (site / "my_package").mkdir(parents=True)
    (site / "my_package" / "__init__.py").write_text("")
    (site / "my_package" / "my_eval.py").write_text(readme_evaluator_code())
    dist = site / "my_package-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my_package\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[aebench.evaluators]\nsilhouette = my_package.my_eval\n")
    out = tmp_path / "out"
    proc = run_all(["--models", "pca", "--out", str(out), *RUN[:-3], "--evaluators", "silhouette", "-q"],
                   {"PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    assert "silhouette" in set(pd.read_csv(out / "results.csv")["metric"])


BROKEN_MODELS = '''
import torch
from torch import nn
from bench.model_api import Autoencoder, register_model


class Base(Autoencoder):
    def __init__(self, input_shape, latent_dim):
        super().__init__(input_shape, latent_dim)
        self.enc = nn.Linear(self.n_pixels, latent_dim)
        self.dec = nn.Linear(latent_dim, self.n_pixels)

    def encode(self, x):
        return self.enc(x.flatten(1))

    def decode_logits(self, z):
        return self.dec(z).view(-1, *self.input_shape)


class WrongShape(Base):
    def decode_logits(self, z):
        return self.dec(z)  # (N, pixels), not images


class NaNCodes(Base):
    def encode(self, x):
        return self.enc(x.flatten(1)) * float("nan") if not self.training else self.enc(x.flatten(1))


class RaisesMidTraining(Base):
    steps = 0

    def loss(self, x):
        RaisesMidTraining.steps += 1
        if RaisesMidTraining.steps > 1:
            raise RuntimeError("plugin bug in step 2")
        return super().loss(x)


for name, cls in [("wrong_shape", WrongShape), ("nan_codes", NaNCodes), ("raises_mid_training", RaisesMidTraining)]:
    register_model(name, description=name)(lambda s, d, cls=cls: cls(s, d))
'''


def test_broken_plugin_models_fail_their_cells_with_the_reason_and_the_others_finish(tmp_path):
    plugin = tmp_path / "broken_models.py"
    plugin.write_text(BROKEN_MODELS)
    out = tmp_path / "out"
    proc = run_all(["--plugin", str(plugin), "--models", "wrong_shape,nan_codes,raises_mid_training,pca",
                    "--out", str(out), *RUN[:-3], "--evaluators", "reconstruction,kmeans", "-q"])
    assert proc.returncode == 1
    assert set(pd.read_csv(out / "results.csv")["model"]) == {"pca"}
    report = (out / "report.md").read_text()
    failed = report.split("## Failed runs", 1)[1]
    assert "| wrong_shape | 0 | 8 | train | ValueError: Target size" in failed  # the loss saw it
    assert "| nan_codes |" in failed and "encode returned NaN or infinite codes" in failed
    assert "| raises_mid_training |" in failed and "plugin bug in step 2" in failed
