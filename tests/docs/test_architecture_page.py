"""docs/architecture.md matches the code: every path, dotted name and identifier it writes in
backticks exists, and every package of the product is on the page. SPEC.md's references to
code name public modules and names that exist, never a private file."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PAGE = ROOT / "docs" / "architecture.md"
SPEC = ROOT / "SPEC.md"
PRODUCT = ("keys", "lic", "ledger", "cli")

_TICKED = re.compile(r"`([^`\n]+)`")
_PATH = re.compile(r"[\w.-]+(/[\w.-]+)*/?")
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
_IDENT = re.compile(r"[A-Za-z_]\w*")


def ticked(text: str) -> list[str]:
    """Everything written in single backticks (code blocks are not backticked names)."""
    text = re.sub(r"^```.*?^```$", "", text, flags=re.M | re.S)
    return _TICKED.findall(text)


def resolve(dotted: str) -> object:
    """The object a dotted name names: its longest importable module prefix, then attributes.
    Raises ImportError or AttributeError when it does not exist."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def defined_names(files: list[Path]) -> set[str]:
    """Every function, class, method, attribute and variable name the files define."""
    names: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.id if isinstance(node, ast.Name) else node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return names


def problems(text: str, root: Path) -> list[str]:
    """What the page names that does not exist under ``root``."""
    sources = [p for top in PRODUCT for p in sorted((root / top).rglob("*.py"))]
    sources += [root / t for t in ticked(text) if t.endswith(".py") and (root / t).is_file()]
    names = defined_names(sources)
    out = []
    for t in ticked(text):
        if "<" in t or " " in t:  # a placeholder (`_check_<type>`) or a phrase
            continue
        if "/" in t and _PATH.fullmatch(t):
            p = root / t
            if not (p.is_dir() if t.endswith("/") else p.exists()):
                out.append(f"no path {t}")
        elif t.split(".")[0] in PRODUCT and _DOTTED.fullmatch(t):
            try:
                resolve(t)
            except (ImportError, AttributeError):
                out.append(f"no name {t}")
        elif _IDENT.fullmatch(t) and t not in PRODUCT and t not in names:
            out.append(f"nothing defines {t}")
    return out


def test_everything_the_page_names_exists():
    assert problems(PAGE.read_text(encoding="utf-8"), ROOT) == []


def packages(root: Path) -> list[str]:
    """Every package of the product as ``path/``, sub-packages included."""
    return sorted(
        str(p.parent.relative_to(root)) + "/"
        for top in PRODUCT
        for p in (root / top).rglob("__init__.py")
    )


def test_every_package_is_on_the_page():
    text = PAGE.read_text(encoding="utf-8")
    assert "ledger/tlog/" in packages(ROOT)
    assert [p for p in packages(ROOT) if f"`{p}`" not in text] == []


def test_every_package_is_in_the_readme_layout():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :].split("\n## ")[0]
    rows = re.findall(r"^\| `([\w/]+/)` \|", layout, re.M)
    assert sorted(rows) == packages(ROOT)
    for page in ("docs/api.md", "docs/architecture.md", "docs/cli.md", "bench/RESULTS.md"):
        assert f"`{page}`" in layout and (ROOT / page).is_file()


def test_the_check_catches_what_does_not_exist():
    text = (
        "`keys/_ed25519.py` `ledger/tlog/` `ledger.store.Ledger` `LedgerState` `lic`\n"
        "`keys/_gone.py` `ledger/nowhere/` `ledger.store.Nope` `lic.nothing.here` `NoSuchName`\n"
        "```\n`ledger/in_a_block.py`\n```\n"
    )
    assert problems(text, ROOT) == [
        "no path keys/_gone.py",
        "no path ledger/nowhere/",
        "no name ledger.store.Nope",
        "no name lic.nothing.here",
        "nothing defines NoSuchName",
    ]


_PRIVATE_FILE = re.compile(r"\b(?:keys|lic|ledger|cli)/(?:\w+/)*_\w+\.py\b")


def code_reference_problems(text: str) -> list[str]:
    """Private files a text names, and dotted product names in backticks that do not resolve
    or pass through a private module."""
    out = [f"private file {m}" for m in _PRIVATE_FILE.findall(text)]
    for t in ticked(text):
        if t.split(".")[0] in PRODUCT and _DOTTED.fullmatch(t):
            if any(part.startswith("_") for part in t.split(".")):
                out.append(f"private name {t}")
                continue
            try:
                resolve(t)
            except (ImportError, AttributeError):
                out.append(f"no name {t}")
    return out


def test_spec_names_public_code_only():
    text = SPEC.read_text(encoding="utf-8")
    assert "`ledger.bundle`" in text
    assert code_reference_problems(text) == []


def test_the_spec_check_catches_private_and_missing_names():
    text = (
        "Code: `ledger/_bundle.py` and ledger/bundle/_policy.py; `ledger.bundle.verify_bundle`,\n"
        "`ledger.tlog._merkle`, `ledger.ReportBuilder`, `lic/data/tiers.json`.\n"
    )
    assert code_reference_problems(text) == [
        "private file ledger/_bundle.py",
        "private file ledger/bundle/_policy.py",
        "private name ledger.tlog._merkle",
        "no name ledger.ReportBuilder",
    ]
