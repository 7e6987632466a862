"""How a PostgreSQL handle reads stored hash rows (ADR 0010): outside a transaction through
libpq with statements it prepares itself, one per number of rows; inside a transaction
through a cursor. Proofs and roots are the reference's whichever path reads them, also after
psycopg deallocated every prepared statement of the session (it does after a ROLLBACK), and
a failed read raises psycopg's own error."""

import random

import psycopg
import pytest

from helpers.merkle_reference import mth, path, proof
from keys import SigningKey
from ledger.entries import sign_entry
from ledger.store import Ledger
from ledger.store._pg import connect_pg

LOG = SigningKey.from_seed(bytes(range(32)))
AUTHOR = SigningKey.from_seed(bytes(range(1, 33)))
ORIGIN = "example.com/pgreads"


def _prepared(led: Ledger) -> set[str]:
    rows = led.connection.execute(
        "SELECT name FROM pg_prepared_statements WHERE name LIKE 'lic_read_rows_%'"
    ).fetchall()
    return {r[0] for r in rows}


@pytest.fixture(scope="module")
def pg_ledger(pg_cluster):
    """A PostgreSQL ledger of 300 records, and the records (the reference hashes them)."""
    url = pg_cluster.new_url("reads")
    entries = [("test", sign_entry("test", i.to_bytes(2, "big"), AUTHOR)) for i in range(300)]
    with Ledger.create(url, ORIGIN, LOG) as led:
        led.append_batch(entries, now=9)
        leaves = [raw for _, raw in led.iter_records()]
    return url, leaves


def test_proofs_read_through_prepared_statements_match_the_reference(pg_ledger):
    url, leaves = pg_ledger
    rng = random.Random(3)
    with Ledger.open(url) as led:
        assert _prepared(led) == set()
        for size in (1, 2, 3, 17, 64, 255, 300):
            assert led.root(size) == mth(leaves[:size])
        for _ in range(200):
            size = rng.randrange(1, 301)
            i = rng.randrange(size)
            assert led.inclusion_proof(i, size) == path(i, leaves[:size])
            if i:
                assert led.consistency_proof(i, size) == proof(i, leaves[:size])
        names = _prepared(led)
        # one statement per number of rows read, and no more than the bound
        assert len(names) >= 3
        assert all(1 <= int(n.rsplit("_", 1)[1]) <= 64 for n in names)


def test_reads_survive_psycopg_deallocating_the_statements(pg_ledger):
    """psycopg sends DEALLOCATE ALL after a ROLLBACK once it prepared statements of its own:
    the handle prepares its statements again and answers as before."""
    url, leaves = pg_ledger
    with Ledger.open(url) as led:
        conn = led.connection
        want = [(i, path(i, leaves[:300])) for i in (0, 5, 150, 299)]
        for i, p in want:
            assert led.inclusion_proof(i, 300) == p
        assert _prepared(led)
        for _ in range(8):  # past psycopg's threshold, so that it prepares a statement
            conn.execute("SELECT count(*) FROM meta").fetchone()
        conn.execute("BEGIN")
        conn.execute("ROLLBACK")
        assert _prepared(led) == set()
        led._cache.clear()  # read every row again
        for i, p in want:
            assert led.inclusion_proof(i, 300) == p
        assert _prepared(led)
        conn.execute("DEALLOCATE ALL")
        led._cache.clear()
        assert led.root(300) == mth(leaves)
        # one of its statements deallocated alone: that one is prepared again, and the others,
        # prepared again when next used, are found still there
        led._cache.clear()
        for i, p in want:
            assert led.inclusion_proof(i, 300) == p
        names = sorted(_prepared(led))
        assert len(names) >= 2
        conn.execute(f"DEALLOCATE {names[0]}")
        for _ in range(2):
            led._cache.clear()
            for i, p in want:
                assert led.inclusion_proof(i, 300) == p
        assert sorted(_prepared(led)) == names


def test_reads_inside_a_transaction_use_the_cursor(pg_ledger):
    url, leaves = pg_ledger
    with Ledger.open(url) as led:
        conn = led.connection
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            assert led.inclusion_proof(7, 200) == path(7, leaves[:200])
            assert _prepared(led) == set()
        finally:
            conn.execute("ROLLBACK")
        assert led.inclusion_proof(7, 200) == path(7, leaves[:200])


def test_a_failed_read_raises_psycopgs_error(pg_cluster):
    conn = connect_pg(pg_cluster.new_url("notree"), 1000)
    try:
        with pytest.raises(psycopg.errors.UndefinedTable, match="tree"):
            conn.read_rows([1, 2])
        assert not conn.in_transaction
    finally:
        conn.close()
