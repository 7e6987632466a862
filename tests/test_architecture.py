"""The architecture holds: no import cycle, imports point down the layers and the ledger's
sub-packages, no module reaches into another package's private modules, and modules and
functions stay small.

Everything is derived from the files present: every ``.py`` under the product roots is parsed
with ``ast``; every import counts, at any depth (inside functions, under ``if TYPE_CHECKING:``),
relative imports resolved. The checks are functions over that graph, and each is also run on a
small tree made to break it, so none of them can pass vacuously.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("keys", "lic", "ledger", "cli")  # top packages, lowest layer first
SIZE_CHECKED = ("keys", "lic", "ledger", "cli")  # every product root
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 100

# The ledger's sub-packages and what each may import (imports point down only). Among the four
# above the store, the declared orders are audit <- report (a report is an audit's replay) and
# audit, bundle <- follow <- witness (a follower replays with the audit's checks and may check a
# witness policy; an auditing witness follows the log before it cosigns); serve, the HTTP
# service, sits above bundle and witness (it serves their evidence).
_BELOW_STORE = {"tlog", "entries", "state", "store"}
LEDGER_MAY_IMPORT: dict[str, set[str]] = {
    "tlog": set(),
    "entries": {"tlog"},
    "state": {"tlog", "entries"},
    "store": {"tlog", "entries", "state"},
    "audit": _BELOW_STORE,
    "bundle": _BELOW_STORE,
    "report": _BELOW_STORE | {"audit"},
    "follow": _BELOW_STORE | {"audit", "bundle"},
    "witness": _BELOW_STORE | {"audit", "bundle", "follow"},
    "serve": _BELOW_STORE | {"audit", "bundle", "follow", "witness"},
}


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    line: int
    typing_only: bool


@dataclass
class Graph:
    modules: dict[str, Path] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement at any depth, with whether it sits under ``if TYPE_CHECKING:``."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append((node, typing_only))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, typing_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(tree, False)
    return found


def build_graph(root: Path, tops: tuple[str, ...]) -> Graph:
    """The import graph of every module under ``root/<top>`` (edges only between them)."""
    g = Graph()
    for top in tops:
        for path in sorted((root / top).rglob("*.py")):
            g.modules[module_name(root, path)] = path
    for name, path in g.modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, typing_only in _imports(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for a in node.names:
                    sub = f"{base}.{a.name}" if base else a.name
                    targets.append(sub if sub in g.modules else base)
            for t in targets:
                while t and t not in g.modules:  # "import a.b.c" of a non-module: its package
                    t = t.rpartition(".")[0]
                if t and t != name:
                    g.edges.append(Edge(name, t, node.lineno, typing_only))
    return g


def find_cycle(g: Graph) -> list[str] | None:
    """One import cycle as a path that returns to its start, or None. Typing-only imports
    count: a cycle under ``if TYPE_CHECKING:`` is still a cycle of the design."""
    adj: dict[str, set[str]] = {m: set() for m in g.modules}
    for e in g.edges:
        adj[e.src].add(e.dst)
    color = dict.fromkeys(adj, 0)  # 0 new, 1 on the stack, 2 done
    for start in sorted(adj):
        if color[start]:
            continue
        stack = [(start, iter(sorted(adj[start])))]
        path = [start]
        color[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                color[node] = 2
            elif color[nxt] == 1:
                return [*path[path.index(nxt) :], nxt]
            elif color[nxt] == 0:
                color[nxt] = 1
                stack.append((nxt, iter(sorted(adj[nxt]))))
                path.append(nxt)
    return None


def layer_violations(g: Graph, tops: tuple[str, ...]) -> list[str]:
    rank = {t: i for i, t in enumerate(tops)}
    out = []
    for e in g.edges:
        a, b = e.src.split(".")[0], e.dst.split(".")[0]
        if rank[b] > rank[a]:
            out.append(f"{e.src}:{e.line} imports {e.dst} ({a} is below {b})")
    return out


def ledger_order_violations(g: Graph) -> list[str]:
    out = []
    for e in g.edges:
        src, dst = e.src.split("."), e.dst.split(".")
        if (
            src[0] != "ledger"
            or dst[0] != "ledger"
            or len(src) < 2
            or src[1] not in LEDGER_MAY_IMPORT
        ):
            continue
        if len(dst) < 2:
            out.append(f"{e.src}:{e.line} imports the ledger face; import a sub-package")
        elif dst[1] != src[1] and dst[1] not in LEDGER_MAY_IMPORT[src[1]]:
            out.append(f"{e.src}:{e.line} imports {e.dst} ({src[1]} may not import {dst[1]})")
    return out


def private_violations(g: Graph) -> list[str]:
    out = []
    for e in g.edges:
        parts = e.dst.split(".")
        private = [i for i, p in enumerate(parts) if p.startswith("_")]
        if not private:
            continue
        owner = ".".join(parts[: private[0]])
        if e.src != owner and not e.src.startswith(owner + "."):
            out.append(f"{e.src}:{e.line} imports {e.dst}, private to {owner}")
    return out


def size_violations(root: Path, roots: tuple[str, ...]) -> list[str]:
    out = []
    for top in roots:
        for path in sorted((root / top).rglob("*.py")):
            text = path.read_text()
            rel = path.relative_to(root)
            if len(text.splitlines()) > MAX_MODULE_LINES:
                out.append(f"{rel}: {len(text.splitlines())} lines (max {MAX_MODULE_LINES})")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                    n = (node.end_lineno or node.lineno) - first + 1
                    if n > MAX_FUNCTION_LINES:
                        out.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    return out


# -- the product --------------------------------------------------------------------------------

GRAPH = build_graph(ROOT, PRODUCT)


def test_the_graph_covers_the_product():
    assert {"keys", "lic", "ledger", "ledger.tlog", "ledger.store", "cli.main"} <= set(
        GRAPH.modules
    )
    assert any(e.src.startswith("ledger.store.") and e.dst == "ledger.state" for e in GRAPH.edges)


def test_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_layers_point_down():
    assert layer_violations(GRAPH, PRODUCT) == []


def test_ledger_sub_packages_point_down():
    assert ledger_order_violations(GRAPH) == []


def test_the_ledger_package_itself_imports_nothing():
    # ``import ledger.tlog`` runs ledger/__init__.py first: a face there would load the store,
    # the witness server and the audit's process pools for every user of the pure parts.
    assert [e for e in GRAPH.edges if e.src == "ledger"] == []


def test_no_private_module_of_another_package():
    assert private_violations(GRAPH) == []


def test_modules_and_functions_stay_small():
    assert size_violations(ROOT, SIZE_CHECKED) == []


# -- each check fails on a tree made to break it ------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


def test_checks_catch_what_they_forbid(tmp_path):
    root = _tree(
        tmp_path,
        {
            "keys/__init__.py": "def f():\n    import lic\n",  # up a layer, inside a function
            "lic/__init__.py": "from keys import _secret\n",  # another package's private module
            "keys/_secret.py": "",
            "ledger/__init__.py": '"""The docstring alone."""\n',
            "ledger/tlog/__init__.py": "from ..entries import y\n",  # up the ledger order
            "ledger/entries/__init__.py": "from . import _a\n",
            "ledger/entries/_a.py": "from ._b import z\n",
            "ledger/entries/_b.py": "if TYPE_CHECKING:\n    from ._a import w\n",  # a typing cycle
            "ledger/store/__init__.py": "import ledger\n",  # the face, from a sub-package
            "cli/__init__.py": "",
        },
    )
    g = build_graph(root, PRODUCT)
    assert find_cycle(g) == ["ledger.entries._a", "ledger.entries._b", "ledger.entries._a"]
    assert layer_violations(g, PRODUCT) == ["keys:2 imports lic (keys is below lic)"]
    assert private_violations(g) == ["lic:1 imports keys._secret, private to keys"]
    assert sorted(ledger_order_violations(g)) == [
        "ledger.store:1 imports the ledger face; import a sub-package",
        "ledger.tlog:1 imports ledger.entries (tlog may not import entries)",
    ]
    (root / "ledger/entries/_b.py").write_text("")
    assert find_cycle(build_graph(root, PRODUCT)) is None
    # a face in ledger/__init__.py that names a sub-package only for the type checker still
    # closes ledger -> ledger.store -> ledger
    face = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .store import x\n"
    (root / "ledger/__init__.py").write_text(face)
    assert find_cycle(build_graph(root, PRODUCT)) == ["ledger", "ledger.store", "ledger"]


def test_size_check_catches_long_modules_and_functions(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    root = _tree(
        tmp_path,
        {"keys/_long.py": "\n" * MAX_MODULE_LINES + "x = 1\n", "keys/_f.py": "def f():\n" + body},
    )
    assert size_violations(root, ("keys",)) == [
        f"keys/_f.py:1 f: {MAX_FUNCTION_LINES + 1} lines",
        f"keys/_long.py: {MAX_MODULE_LINES + 1} lines (max {MAX_MODULE_LINES})",
    ]


def test_relative_imports_resolve(tmp_path):
    root = _tree(
        tmp_path,
        {
            "ledger/__init__.py": "",
            "ledger/store/__init__.py": "from ._l import L\nfrom .. import tlog as mk\n",
            "ledger/store/_l.py": "from ..tlog._m import h\n",
            "ledger/tlog/__init__.py": "",
            "ledger/tlog/_m.py": "",
        },
    )
    edges = {(e.src, e.dst) for e in build_graph(root, ("ledger",)).edges}
    assert edges == {
        ("ledger.store", "ledger.store._l"),
        ("ledger.store", "ledger.tlog"),
        ("ledger.store._l", "ledger.tlog._m"),
    }
