"""The folders are the architecture (README "Where the code lives"): these tests keep them so.
Read from the source, imports inside functions included (a late import is still a dependency),
so a new cycle, an upward import or a report that reaches into the runner fails here, not in a
newcomer's head."""
import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def module_name(path: Path) -> str:
    parts = path.relative_to(BENCH.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in BENCH.rglob("*.py")}


def imports(path: Path) -> set[str]:
    """The bench modules `path` imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from bench import atomic` imports the submodule bench.atomic
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES
                      else node.module for a in node.names}
    return {name for name in found if name in MODULES}


GRAPH = {name: imports(path) for name, path in MODULES.items()}


def test_graph_sees_the_imports_it_should():
    assert "bench.store.cell" in GRAPH["bench.run.execute"]
    assert "bench.atomic" in GRAPH["bench.store.records"]


def test_no_import_cycles():
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(GRAPH[name]):
            if state.get(dep) == "open":
                pytest.fail("import cycle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])


@pytest.mark.parametrize("folder", ["report", "store", "data", "evaluators"])
def test_nothing_below_the_runner_imports_it(folder):
    offenders = [name for name, deps in GRAPH.items()
                 if name.startswith(f"bench.{folder}") and any(d.startswith("bench.run") for d in deps)]
    assert not offenders, offenders


def test_the_report_imports_no_model_code():
    """The report is rebuilt from a results directory alone (no torch: see test_cli)."""
    model_side = {"bench.run", "bench.evaluators", "bench.model_api", "bench.train", "bench.plugins",
                  "bench.judge"}
    offenders = {name: sorted(d for d in deps if d in model_side or d.rsplit(".", 1)[0] in model_side)
                 for name, deps in GRAPH.items() if name.startswith("bench.report")}
    assert not any(offenders.values()), offenders
