"""A replay's private database writes behind (ADR 0008): the same rows as writing through, at
every point a reader looks, with batches and caches small enough to flush and empty often."""

import pytest

from keys import SigningKey
from ledger.state import LedgerState, _tables, apply_stored, create_state_tables, open_scratch
from ledger.store import Ledger, synthesize


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    log = SigningKey.from_seed(bytes(32))
    path = tmp_path_factory.mktemp("wb") / "l.db"
    with Ledger.create(path, "wb.example/log", log) as led:
        synthesize(led, 900, log_key=log, seed=3)
        return log.public_key.raw, list(led.iter_records(0, led.size))


@pytest.mark.parametrize(("batch", "cache"), [(1, 4), (7, 16), (64, 5), (4096, 16384)])
def test_write_behind_gives_the_rows_of_write_through(records, monkeypatch, batch, cache):
    monkeypatch.setattr(_tables, "WRITE_BEHIND_ROWS", batch)
    monkeypatch.setattr(_tables, "CACHE_ENTRIES", cache)
    key, rows = records
    behind = LedgerState(key)  # a state of its own: writes behind
    conn = open_scratch()
    create_state_tables(conn)
    through = LedgerState(key, conn)  # a caller's database: writes through
    assert behind._buffer is not None and through._buffer is None
    kinds = set()
    for n, (_, raw) in enumerate(rows):
        assert apply_stored(behind, raw) == apply_stored(through, raw)
        kinds.update(name for name, v in vars(behind).items() if getattr(v, "_rows", None))
        if n % 97 == 0:  # SQL sees every write so far, through the connection and the views
            assert behind.table_rows() == through.table_rows()
            assert list(behind.grants.items()) == list(through.grants.items())
    assert behind.table_rows() == through.table_rows()
    if batch > 1:  # rows of several tables were pending at some point
        assert {"types", "grants", "requests", "decisions"} <= kinds
    behind.close()
    conn.close()
