"""The package's import graph has no circle, and no test imports another test or a benchmark.

The graph is built with ``ast`` from ``src/hdx``: one node per module, one edge per import statement
that names another module of the package, at module level or inside a function (a lazy import is an
import too); imports under ``if TYPE_CHECKING:`` never run and are left out. ``from pkg import name``
is an edge to ``pkg.name`` when that is a module, else to ``pkg``. Circles are the strongly connected
components of more than one module (Tarjan), and self-imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "hdx"


def _module_names(src: Path) -> dict[str, Path]:
    mods = {}
    for p in src.rglob("*.py"):
        parts = list(p.relative_to(src.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node outside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``."""
    mods = _module_names(src)

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(filter(None, (known(a.name) for a in node.names)))
                continue
            base = node.module or ""
            if node.level:
                up = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                base = f"{up}.{base}" if base else up
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods]
            targets.update(subs)
            if len(subs) < len(node.names) and known(base):
                targets.add(known(base))
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, and modules importing themselves."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph has ~100 nodes, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_detector_finds_a_circle_and_a_lazy_import(tmp_path):
    pkg = tmp_path / "hdx"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from hdx.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import x\n")  # lazy and relative
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hdx.sub.b\n"
                              "import hdx.a\n")
    g = import_graph(pkg)
    assert g["hdx.a"] == {"hdx.sub.b"} and g["hdx.sub.b"] == {"hdx.c"} and g["hdx.c"] == {"hdx.a"}
    assert circles(g) == [["hdx.a", "hdx.c", "hdx.sub.b"]]
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hdx.a\n")
    assert circles(import_graph(pkg)) == []


def test_the_package_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 50 and "hdx.api" in graph and "hdx.search.loop" in graph["hdx.api"]
    found = circles(graph)
    assert found == [], f"{len(found)} import circle(s): {found}"


def test_no_test_imports_another_test_or_a_benchmark():
    tests = {p.stem for p in (ROOT / "tests").rglob("test_*.py")} | {"conftest"}
    benches = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    bad = []
    for p in (ROOT / "tests").rglob("*.py"):
        text = p.read_text(encoding="utf-8")
        for node in _imports(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for n in names:
                head = n.split(".")[0]
                if head in ("tests", "benchmarks") or n in tests | benches:
                    bad.append(f"{p.name}: {n}")
        for node in ast.walk(ast.parse(text)):  # a file loaded as a module is an import too
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name in ("spec_from_file_location", "run_path", "SourceFileLoader"):
                    bad.append(f"{p.name}: {name}")
    assert bad == []
