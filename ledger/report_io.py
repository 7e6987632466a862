"""Writing a transparency report to disk: the edge around the pure report core."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ._report import report_json_bytes
from ._report_html import render_html

__all__ = ["write_report"]


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(report: dict[str, Any], out_dir: Path) -> None:
    """Write ``report.json`` and ``index.html`` into ``out_dir`` (created if missing).

    Both are rendered in memory first, so a failure leaves no partial file; each file is
    replaced atomically.
    """
    json_bytes = report_json_bytes(report)
    html_bytes = render_html(report).encode("utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(out_dir / "report.json", json_bytes)
    _write_atomic(out_dir / "index.html", html_bytes)
