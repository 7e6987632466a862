"""SPEC.md 15.2's worked example is what lic.oms computes for that directory."""

from __future__ import annotations

import re
from pathlib import Path

from helpers.oms_dirs import make_tree
from lic.oms import manifest_of

SPEC = Path(__file__).resolve().parents[3] / "SPEC.md"


def test_the_spec_example(tmp_path):
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("### 15.2") : text.index("### 15.3")]
    rows = re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", section, re.M)
    root, string_root = re.findall(r"`([0-9a-f]{64})`", section.split("\nroot ", 1)[1])
    files = {
        "config.json": b"{}",
        "tokenizer.json": b'{"v":1}',
        "tokenizer/vocab.txt": b"a\n",
        ".git/HEAD": b"ref: refs/heads/main\n",
    }
    m = manifest_of(make_tree(tmp_path / "m", files))
    assert len(rows) == 3
    assert [(r.name, r.digest) for r in m.resources] == rows
    assert (m.root, m.string_order_root) == (root, string_root)
    assert m.orderings_differ
    assert m.ignored == (".git/HEAD",)
