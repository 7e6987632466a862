"""Ledger locations on both backends for fixtures wider than one test (``ledger_at`` in the
root conftest is per test): a module-scoped fixture parametrized with ``BACKENDS`` asks
``location(request, name)`` for a SQLite file or the URL of a fresh PostgreSQL schema.
``gone(location)`` says whether nothing of a ledger is left there (a refused import)."""

from __future__ import annotations

from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgres")


def location(request: pytest.FixtureRequest, name: str) -> Path | str:
    """Where a new ledger ``name`` lives on the backend ``request.param`` (one of BACKENDS):
    a file in a fresh temporary directory, or a fresh schema of the session's cluster."""
    if request.param == "sqlite":
        factory = request.getfixturevalue("tmp_path_factory")
        path: Path = factory.mktemp(name) / f"{name}.db"
        return path
    url: str = request.getfixturevalue("pg_cluster").new_url(name)
    return url


def gone(place: Path | str) -> bool:
    """Whether nothing of a ledger is left at ``place``: no file, or no table in the schema."""
    if isinstance(place, str):
        import psycopg

        with psycopg.connect(place) as conn:
            row = conn.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).fetchone()
        return row == (0,)
    return not place.exists()


def copy_ledger(source: Path | str, dest: Path | str) -> Path | str:
    """A copy of the ledger at ``source`` made at ``dest`` (a new file or schema) by exporting
    it and importing the export, which re-verifies every record: how a ledger reaches the other
    backend with the same bytes. Returns ``dest``."""
    import io

    from ledger.store import Ledger

    buf = io.StringIO()
    with Ledger.open(source) as led:
        led.export_jsonl(buf)
    Ledger.import_jsonl(dest, buf.getvalue().splitlines()).close()
    return dest
