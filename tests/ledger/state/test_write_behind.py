"""A replay's private database writes behind (ADR 0008): the same rows as writing through, at
every point a reader looks, with batches and caches small enough to flush and empty often."""

import pytest

from keys import SigningKey
from ledger.state import (
    LedgerState,
    _revtree,
    _tables,
    apply_stored,
    create_state_tables,
    open_scratch,
)
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
    monkeypatch.setattr(_revtree, "_NODE_CACHE", cache)
    key, rows = records
    behind = LedgerState(key)  # a state of its own: writes behind
    conn = open_scratch()
    create_state_tables(conn)
    through = LedgerState(key, conn)  # a caller's database: writes through
    assert behind._buffer is not None and through._buffer is None
    kinds = set()
    for n, (_, raw) in enumerate(rows):
        assert apply_stored(behind, raw) == apply_stored(through, raw)
        kinds.update(
            name
            for name, v in vars(behind).items()
            if getattr(v, "_rows", None) or getattr(v, "_pending", None)
        )
        if n % 97 == 0:  # SQL sees every write so far, through the connection and the views
            assert behind.table_rows() == through.table_rows()
            assert list(behind.grants.items()) == list(through.grants.items())
    assert behind.table_rows() == through.table_rows()
    if batch > 1:  # rows of several tables were pending at some point
        assert {"grants", "requests", "decisions", "_attest_rows", "_tree"} <= kinds
    behind.close()
    conn.close()


def test_a_filtered_view_answers_absent_without_sql_and_finds_what_it_wrote(monkeypatch):
    monkeypatch.setattr(_tables, "CACHE_ENTRIES", 8)
    conn = open_scratch()
    conn.execute("CREATE TABLE t (k BLOB PRIMARY KEY, v INTEGER NOT NULL)")
    view = _tables.Table(conn, "t", "k", ("v",), lambda k, v: (v,), lambda k, r: r[0])
    view.filter_keys()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    keys = [bytes([i]) * 32 for i in range(200)]
    for i, k in enumerate(keys[:100]):
        view[k] = i
    view.drop_cache()
    statements.clear()
    assert [view.get(k) for k in keys[100:]] == [None] * 100  # never written
    assert len(statements) < 5  # a key whose two bits happen to be set is looked up
    assert [view.get(k) for k in keys[:100]] == list(range(100))  # from the table
    assert keys[5] in view and keys[150] not in view
    conn.close()
