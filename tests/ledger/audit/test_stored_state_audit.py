"""The audit recomputes the derived state the file stores (SPEC 14, ADR 0008): a stored row
changed behind the log's back is a finding that names the table and the row, and
``lic ledger audit`` exits 1. On both backends (``module_ledger_at``): a SQLite file's tables,
a PostgreSQL schema's."""

import io
import sqlite3

import psycopg
import pytest

from helpers.ledger_world import World, build
from ledger.audit import audit_db
from ledger.state import STATE_TABLES
from ledger.store import Ledger


@pytest.fixture(scope="module")
def world(module_ledger_at) -> World:
    w = build(module_ledger_at("world"))
    buf = io.StringIO()
    with Ledger.open(w.path) as led:
        led.export_jsonl(buf)
    w.lines = buf.getvalue().splitlines()
    return w


def _copy(world: World, module_ledger_at):
    """A copy of the world to change: the file's bytes, or its export imported into a new
    schema (the import builds the stored state by a replay)."""
    if module_ledger_at.backend == "sqlite":
        path = module_ledger_at("copy")
        path.write_bytes(world.path.read_bytes())
        return path
    url = module_ledger_at("copy")
    Ledger.import_jsonl(url, world.lines).close()
    return url


def _run(location, sql: str, *args) -> int:
    """Run ``sql`` (``?`` placeholders) on the ledger's database, behind the log's back;
    the rows it changed."""
    if isinstance(location, str):
        with psycopg.connect(location, autocommit=True) as pg:
            return pg.execute(sql.replace("?", "%s"), args).rowcount
    conn = sqlite3.connect(location)
    n = conn.execute(sql, args).rowcount
    conn.commit()
    conn.close()
    return n


def _tamper(location, sql: str, *args) -> None:
    assert _run(location, sql, *args) >= 1


def test_an_untouched_stored_state_equals_the_replay(world):
    r = audit_db(world.path, workers=0)
    assert r.clean and r.stored_state == "equal"


# one change per table the replay fills: (sql, its arguments, table named, key named); the SQL
# runs on both databases (PostgreSQL has no min() of bytes, nor x'..' literals)
TAMPER = [
    ("UPDATE st_grants SET tier = 'enterprise' WHERE idx = "
     "(SELECT min(idx) FROM st_grants)", (), "st_grants", "digest"),
    ("DELETE FROM st_revoked WHERE digest = "
     "(SELECT digest FROM st_revoked ORDER BY digest LIMIT 1)", (), "st_revoked", "digest"),
    ("UPDATE st_decisions SET decision = 'x' WHERE idx = "
     "(SELECT min(idx) FROM st_decisions)", (), "st_decisions", "idx"),
    ("UPDATE st_keys SET name = 'mallory' WHERE role = 'attester'", (), "st_keys", "key"),
    ("INSERT INTO st_attestations (subject, idx) VALUES (?, 1)", (b"\x00",),
     "st_attestations", "subject, idx"),
    ("UPDATE st_incidents SET closed = NULL", (), "st_incidents", "idx"),
    ("UPDATE st_withdrawals SET in_set = 1 - in_set", (), "st_withdrawals", "idx"),
    ("UPDATE st_meta SET last_time = last_time + 1", (), "st_meta", "id"),
    ("INSERT INTO st_revtree VALUES (9, ?, ?, 2)", (b"\x00\xff", bytes(32)), "st_revtree",
     "depth, prefix"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "args", "table", "named"), TAMPER, ids=[t[2] for t in TAMPER])
def test_a_changed_stored_row_is_a_finding_naming_it(
    world, module_ledger_at, sql, args, table, named
):
    path = _copy(world, module_ledger_at)
    _tamper(path, sql, *args)
    r = audit_db(path, workers=0)
    assert not r.clean and r.stored_state == "differs"
    msgs = [f.message for f in r.findings]
    assert len(msgs) == 1, msgs
    assert msgs[0].startswith(f"stored state: table {table} differs from the replay at {named}")


def test_every_state_table_is_compared(world):
    assert {t for _, _, t, _ in TAMPER} | {"st_kids", "st_targets", "st_terms", "st_requests",
            "st_appeals"} == {name for name, _ in STATE_TABLES}  # fmt: skip


def test_a_wrong_kept_revoked_set_root_is_a_finding(world, module_ledger_at):
    path = _copy(world, module_ledger_at)
    _tamper(
        path,
        "UPDATE st_meta SET revset_cached = revset_version, revset_size = 7, revset_root = ?",
        bytes(32),
    )
    r = audit_db(path, workers=0)
    assert [f.message.split(" (")[0] for f in r.findings] == [
        "stored state: the kept revoked-set root"
    ]


def test_a_file_without_the_tables_is_audited_as_before(world, module_ledger_at):
    path = _copy(world, module_ledger_at)
    for name, _ in STATE_TABLES:
        _run(path, f"DROP TABLE {name}")
    r = audit_db(path, workers=0)
    assert r.clean and r.stored_state == "absent"


def test_tables_of_another_schema_version_are_not_compared(world, module_ledger_at):
    """Tables the next write rebuilds are neither equal nor absent: the audit says it did
    not compare them, and the records' audit stands."""
    path = _copy(world, module_ledger_at)
    _tamper(path, "UPDATE st_meta SET schema = schema + 1, last_time = last_time + 1")
    r = audit_db(path, workers=0)
    assert r.clean and r.stored_state == "not compared"


def test_lic_ledger_audit_exits_1_on_a_changed_stored_state(world, module_ledger_at, lic_cli):
    path = _copy(world, module_ledger_at)
    _tamper(path, TAMPER[0][0])
    res = lic_cli("ledger", "audit", "--db", str(path), "--quiet", "--workers", "0", code=1)
    assert "stored state: table st_grants differs from the replay" in res.output


def test_lic_ledger_rebuild_state_repairs_what_the_audit_found(world, module_ledger_at, lic_cli):
    path = _copy(world, module_ledger_at)
    _tamper(path, TAMPER[1][0])
    lic_cli("ledger", "audit", "--db", str(path), "--quiet", "--workers", "0", code=1)
    res = lic_cli("ledger", "rebuild-state", "--db", str(path), "--json", code=0)
    assert res.json == {"db": str(path), "records": audit_db(path, workers=0).size}
    lic_cli("ledger", "audit", "--db", str(path), "--quiet", "--workers", "0", code=0)
    assert audit_db(path, workers=0).stored_state == "equal"
