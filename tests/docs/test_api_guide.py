"""docs/api.md's examples run: every ```python block of the guide, in order, in one namespace,
in a fresh directory, so a broken example fails the suite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
GUIDE = ROOT / "docs" / "api.md"

_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Each ```python block of a Markdown text with the line its code starts on."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


def run_blocks(path: Path, text: str) -> dict[str, object]:
    """Run the blocks in order in one namespace; an error names the block's first line."""
    namespace: dict[str, object] = {"__name__": "api_guide"}
    for line, code in python_blocks(text):
        # compile with the guide's line numbers, so a traceback points into docs/api.md
        compiled = compile("\n" * (line - 1) + code, str(path), "exec")
        exec(compiled, namespace)
    return namespace


def test_the_guide_has_an_example_for_each_user():
    text = GUIDE.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    for user in ("issuer", "verifier", "model host", "auditor"):
        assert any(user in h for h in headings), user
    assert len(python_blocks(text)) >= 8


def test_the_guide_imports_only_public_names():
    text = GUIDE.read_text(encoding="utf-8")
    imports = [
        line.strip()
        for _, code in python_blocks(text)
        for line in code.splitlines()
        if re.match(r"\s*(from|import) ", line)
    ]
    assert imports
    for line in imports:
        assert not re.search(r"(^|[ .])_", line), line


def test_the_guide_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = run_blocks(GUIDE, GUIDE.read_text(encoding="utf-8"))
    # what the last blocks leave behind: a clean replay and a written report
    assert (tmp_path / "report" / "report.json").is_file()
    assert namespace["replayed"].clean  # type: ignore[attr-defined]


def test_a_broken_example_fails(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = "Text.\n\n```python\nx = 1\n```\n\nMore.\n\n```python\nassert x == 2\n```\n"
    assert [code for _, code in python_blocks(text)] == ["x = 1\n", "assert x == 2\n"]
    with pytest.raises(AssertionError) as info:
        run_blocks(Path("guide.md"), text)
    # the traceback names the guide's own line
    assert info.traceback[-1].lineno + 1 == 10
