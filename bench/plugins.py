"""Finding models and evaluators, the one loader of both: the `models/` and `bench.evaluators`
packages, installed packages' entry points, and `--plugin` files.

Why apart from the registries (`bench.model_api`, `bench.evaluators`): they say what a model or
an evaluator is; this says where they come from, so both kinds load the same way and the
registries import nothing above them.

    load_all_models(); load_all_evaluators(); load_plugin_file("my_ae.py")   # -> ["my_ae"]
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

import bench.evaluators
from bench.evaluators import EVALUATORS
from bench.model_api import MODELS
from bench.registry import Registry, load_entry_points

ENTRY_POINT_GROUPS = {"model": "aebench.models", "evaluator": "aebench.evaluators"}


class PluginError(RuntimeError):
    """A plugin could not be loaded; the message names the plugin and what is wrong."""


_loaded: set[str] = set()  # the kinds loaded in this process
plugin_errors: list[str] = []  # broken entry-point plugins: reported, the other models still run
plugin_files: dict[str, str] = {}  # model name -> the `--plugin` file that registered it, so
                                   # worker processes can load the files a run's models need


evaluator_plugin_files: dict[str, str] = {}  # evaluator name -> its `--plugin` file, likewise


def plugin_files_for(models, evaluators=()) -> list[str]:
    """The `--plugin` files the given models and evaluators come from, for worker processes to
    load: only those (a long-lived process may have loaded others, even two versions of one
    model, which a worker could not load side by side)."""
    files = [plugin_files[m] for m in models if m in plugin_files]
    files += [evaluator_plugin_files[e] for e in evaluators if e in evaluator_plugin_files]
    return list(dict.fromkeys(files))


def import_package(package) -> None:
    """Import every public module of `package` (each registers what it defines)."""
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def import_builtin_models() -> None:
    import models

    import_package(models)


def import_builtin_evaluators() -> None:
    import_package(bench.evaluators)


def _load(kind: str, builtin, registry: Registry) -> Registry:
    """The built-in entries of `kind`, then installed packages' entry points, once a process."""
    if kind not in _loaded:
        builtin()
        load_entry_points(ENTRY_POINT_GROUPS[kind], kind, plugin_errors)
        _loaded.add(kind)
    return registry


def load_all_models() -> Registry:
    return _load("model", import_builtin_models, MODELS)


def load_all_evaluators() -> Registry:
    return _load("evaluator", import_builtin_evaluators, EVALUATORS)


def load_plugin_file(path: str | Path) -> list[str]:
    """Import one Python file (`--plugin`), returning the model and evaluator names it
    registered (a plugin may add either or both)."""
    load_all_models()
    load_all_evaluators()
    path = Path(path)
    if not path.is_file():
        raise PluginError(f"plugin {path}: no such file")
    before, before_evaluators = set(MODELS.names()), set(EVALUATORS.names())
    name = f"aebench_plugin_{path.stem}_{abs(hash(str(path.resolve()))) % 10**8}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        for added in set(MODELS.names()) - before:  # a half-imported plugin registers nothing
            MODELS.remove(added)
        for added in set(EVALUATORS.names()) - before_evaluators:
            EVALUATORS.remove(added)
        raise PluginError(f"plugin {path}: {type(exc).__name__}: {exc}") from exc
    added = [n for n in MODELS.names() if n not in before]
    added_evaluators = [n for n in EVALUATORS.names() if n not in before_evaluators]
    if not added and not added_evaluators:
        raise PluginError(f"plugin {path}: registered no model or evaluator "
                          "(use @register_model or @register_evaluator)")
    for model in added:
        plugin_files[model] = str(path.resolve())
    for evaluator in added_evaluators:
        evaluator_plugin_files[evaluator] = str(path.resolve())
    return added + added_evaluators
