"""The code's shape (issue 11), read from the sources with ``ast``: no import cycle between the package's
modules, a function-local import only with a comment saying why (deferring a heavy import), and README's
"Where things are" table naming what is in the tree."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-dir"]


def modules() -> dict[str, Path]:
    """Every module of the installed package by its dotted name (``formintake.extractors.pdf``)."""
    out: dict[str, Path] = {}
    for pkg, folder in PACKAGE_DIRS.items():
        base = ROOT / folder
        for path in base.rglob("*.py"):
            rel = path.relative_to(base).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if "formintake" in rel.parts[:-1] or ".venv" in path.parts:
                continue
            if pkg == "formintake" and rel.parts[0] in {v for v in PACKAGE_DIRS.values() if v != "formintake"}:
                continue
            out.setdefault(name, path)
    return out


MODULES = modules()


def _target(name: str, node: ast.ImportFrom | ast.Import, alias: ast.alias) -> str | None:
    """The package module an import statement in module ``name`` loads, if it is one of ours."""
    if isinstance(node, ast.Import):
        dotted = alias.name
    else:
        if node.level:
            is_pkg = MODULES[name].name == "__init__.py"
            base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
            dotted = ".".join(base + ([node.module] if node.module else []))
        else:
            dotted = node.module or ""
        if f"{dotted}.{alias.name}" in MODULES:  # from package import submodule
            dotted = f"{dotted}.{alias.name}"
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def _module_level_imports(tree: ast.Module):
    """Import statements run when the module is imported (not under ``if TYPE_CHECKING:``, not in a def)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" in ast.unparse(node.test):
                todo.extend(node.orelse)
            else:
                todo.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            todo.extend(node.body + node.orelse + node.finalbody + [n for h in node.handlers for n in h.body])


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        deps = graph.setdefault(name, set())
        for node in _module_level_imports(ast.parse(path.read_text("utf-8"))):
            for alias in node.names:
                t = _target(name, node, alias)
                if t and t != name:
                    deps.add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_the_package():
    g = import_graph()
    assert "formintake.validators.registry" in g and "formintake.extractors.pdf" in g and "formintake.reports.html" in g
    assert "formintake.findings" in g["formintake.validators.registry"]
    assert "formintake.extractors.pages" in g["formintake.extractors.pdf"]
    assert "formintake.reports.common" in g["formintake.reports.html"]  # a relative import


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def function_local_imports() -> list[tuple[str, int, str]]:
    """(module, line, text) of every import inside a function that has no comment saying why: on its
    line, or on a line of the block of imports it belongs to."""
    found = []
    for name, path in MODULES.items():
        lines = path.read_text("utf-8").splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                i = node.lineno - 1
                block = [lines[i]]
                while i > 0 and re.match(r"\s*(import |from \S+ import |$)", lines[i - 1]):
                    i -= 1
                    block.append(lines[i])
                if not any("#" in line for line in block):
                    found.append((name, node.lineno, lines[node.lineno - 1].strip()))
    return found


def test_function_local_imports_say_why():
    assert function_local_imports() == []


def where_things_are() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    return text.split("## Where things are", 1)[1].split("\n## ", 1)[0]


def test_readme_table_names_what_is_in_the_tree():
    """Each row's folder exists; each ``name.py`` a row names is a file under its folder; every module of
    the package is named in a row (a subfolder named as ``name/`` counts for what is in it; other
    ``name/`` mentions, such as the result key ``latest/``, are not paths)."""
    rows = [r for r in where_things_are().splitlines() if r.startswith("| `")]
    assert rows
    named: set[Path] = set()
    for row in rows:
        folder_cell, what = row.split("|")[1:3]
        folder = ROOT / re.search(r"`([^`]+)`", folder_cell).group(1)
        assert folder.is_dir(), f"README names a folder that is not there: {folder}"
        for item in re.findall(r"`([\w./-]+)`", what):
            if item.endswith(".py"):
                found = sorted((p for p in folder.rglob(item) if ".venv" not in p.parts),
                               key=lambda p: len(p.parts))
                assert found, f"README names {item} under {folder.relative_to(ROOT)}, which is not in the tree"
                named.add(found[0])
            elif item.endswith("/") and (folder / item).is_dir():
                named.add(folder / item)
    missing = []
    for name, path in MODULES.items():
        if path.name == "__init__.py":
            continue
        if path not in named and not any(d.is_dir() and d in path.parents for d in named):
            missing.append(str(path.relative_to(ROOT)))
    assert missing == [], f"README's table does not name {missing}"


def all_imports(name: str) -> set[str]:
    """The package modules ``name`` imports anywhere (module level, in functions, under TYPE_CHECKING)."""
    out = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text("utf-8"))):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                t = _target(name, node, alias)
                if t and t != name:
                    out.add(t)
    return out


# what the lower layers never import (issue 11: "storage and extractors know nothing of the pipeline; the
# finding catalogue is core data next to models and fields")
RUN = ("formintake.validators", "formintake.document", "formintake.pipeline", "formintake.steps", "formintake.flows",
       "formintake.reports", "formintake.cli", "formintake.terminal", "formintake.demo", "formintake.watch")
LAYERS = {
    "formintake.storage": RUN + ("formintake.extractors",),
    "formintake.extractors": RUN,
    # the core: the model, the catalogues, the campaign, text helpers
    **{f"formintake.{m}": RUN + ("formintake.extractors", "formintake.storage")
       for m in ("models", "fields", "findings", "text", "config", "settings", "identity", "status", "keys", "clock")},
}


def test_dependencies_point_one_way():
    assert "formintake.validators.registry" in all_imports("formintake.document")  # the check sees imports
    assert "formintake.extractors.ocr" in all_imports("formintake.extractors.pages")  # … and function-local ones
    wrong = []
    for name in MODULES:
        for layer, forbidden in LAYERS.items():
            if name == layer or name.startswith(layer + "."):
                wrong += [(name, t) for t in sorted(all_imports(name)) if t.startswith(forbidden)]
    assert wrong == []
