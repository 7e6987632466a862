"""Writing a transparency report to disk: the edge around the pure report core."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from keys import write_atomic
from keys.errors import MalformedError

from ..audit import AuditResult, audit_db, audit_jsonl
from ..store import Ledger
from ..tlog import parse_note
from ._figures import ReportBuilder
from ._measures import report_json_bytes
from ._page import render_html

__all__ = ["replay_report", "write_report"]


def write_report(report: dict[str, Any], out_dir: Path) -> None:
    """Write ``report.json`` and ``index.html`` into ``out_dir`` (created if missing).

    Both are rendered in memory first, so a failure leaves no partial file; each file is
    replaced atomically.
    """
    json_bytes = report_json_bytes(report)
    html_bytes = render_html(report).encode("utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "report.json", json_bytes, mode=0o644, overwrite=True)
    write_atomic(out_dir / "index.html", html_bytes, mode=0o644, overwrite=True)


def _witnesses(result: AuditResult, db: Path | str | None) -> list[str]:
    """The names that cosigned the latest checkpoint the audit verified: the cosignature lines
    stored with it (a ledger file), or the extra signature lines of the note (an export)."""
    if result.latest_note is None or not result.checkpoints:
        return []
    lines = [s.name for s in parse_note(result.latest_note).signatures]
    if db is not None:
        with Ledger.open(db) as led:
            extra = led.cosignatures(result.checkpoints[-1].size)
        lines += [s.name for line in extra for s in parse_note(b"x\n\n" + line.encode()).signatures]
    return sorted({name for name in lines if name != result.origin})


def replay_report(
    *,
    db: Path | str | None = None,
    jsonl: Path | None = None,
    k: int = 5,
    start: int | None = None,
    end: int | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> tuple[dict[str, Any], AuditResult]:
    """Replay a ledger file (``db``) or an export (``jsonl``) as the audit does, feeding a
    ``ReportBuilder``; returns the report (report.json content) and the audit's result.

    Findings do not stop the report: they are counted and listed in its integrity section.
    """
    if (db is None) == (jsonl is None):
        raise MalformedError("replay_report: give exactly one of db and jsonl")
    ReportBuilder(k, start, end)  # refuse bad parameters before the replay
    builders: list[ReportBuilder] = []

    def make_observer() -> Any:
        builders.append(ReportBuilder(k, start, end))
        return builders[-1].observe

    if db is not None:
        result = audit_db(db, progress=progress, make_observer=make_observer, workers=workers)
    else:
        assert jsonl is not None
        result = audit_jsonl(jsonl, progress=progress, make_observer=make_observer, workers=workers)
    builder = next(b for b in builders if b.observe == result.observer)
    for f in result.findings:
        builder.finding(f)
    cp = result.checkpoints[-1] if result.checkpoints else None
    integrity = {
        "size": result.size,
        "root": result.root.hex(),
        "checkpoint": cp.text() if cp is not None else None,
        "witnesses": _witnesses(result, db),
        "findings": len(result.findings),
    }
    return builder.finish(result.state, integrity), result
