"""The demo world for tests that need a ledger with a story in it: `lic demo --dir` runs once
per test session and each caller gets a fresh copy of its directory (the root conftest's
``demo_dir`` fixture). Nothing in the directory names its own location (the ledger, keys,
bundles and trust files are position-independent; the build checks it), so a copy is the same
world; its keyring is ``<copy>/keys``, the ``LIC_HOME`` its commands expect."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.cli import LicCli


class DemoWorlds:
    """Runs `lic demo --dir` the first time a copy is asked for, then copies that directory
    into a new one from ``make_dir`` at every call, so callers may append and write freely."""

    def __init__(self, make_dir: Callable[[str], Path], lic_cli: LicCli) -> None:
        self._make_dir = make_dir
        self._lic_cli = lic_cli
        self._original: Path | None = None

    def __call__(self, name: str = "demo") -> Path:
        """A fresh copy of the demo directory, ``d`` in a new directory named after ``name``."""
        if self._original is None:
            self._original = self._build()
        copy = self._make_dir(name) / "d"
        shutil.copytree(self._original, copy)
        return copy

    def _build(self) -> Path:
        original = self._make_dir("demo-original") / "d"
        self._lic_cli("demo", "--dir", original)
        where = str(original).encode()
        for f in sorted(original.rglob("*")):
            assert not f.is_file() or where not in f.read_bytes(), f"{f} names its directory"
        return original


def record_children(mp: pytest.MonkeyPatch) -> list[Any]:
    """Patch the demo's served part so that every child process it starts (``lic serve``,
    ``lic witness serve``) is also appended to the returned list."""
    from cli import _demo_serve

    children: list[Any] = []
    start = _demo_serve._Child.__init__

    def recording(self: Any, *args: Any, **kw: Any) -> None:
        start(self, *args, **kw)
        children.append(self)

    mp.setattr(_demo_serve._Child, "__init__", recording)
    return children


def assert_stopped(children: list[Any]) -> None:
    """Each child process has exited and was reaped: no process is left behind."""
    assert children, "the demo started no child process"
    for child in children:
        assert child.proc.returncode is not None, child.name
        try:
            os.kill(child.proc.pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"{child.name} (pid {child.proc.pid}) is still there")
