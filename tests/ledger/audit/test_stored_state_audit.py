"""The audit recomputes the derived state the file stores (SPEC 14, ADR 0008): a stored row
changed behind the log's back is a finding that names the table and the row, and
``lic ledger audit`` exits 1."""

import sqlite3

import pytest

from helpers.ledger_world import World, build
from ledger.audit import audit_db
from ledger.state import STATE_TABLES


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return build(tmp_path_factory.mktemp("stored-audit") / "ledger.db")


def _copy(world: World, tmp_path):
    path = tmp_path / "l.db"
    path.write_bytes(world.path.read_bytes())
    return path


def _tamper(path, sql: str, *args) -> None:
    conn = sqlite3.connect(path)
    assert conn.execute(sql, args).rowcount >= 1
    conn.commit()
    conn.close()


def test_an_untouched_stored_state_equals_the_replay(world):
    r = audit_db(world.path, workers=0)
    assert r.clean and r.stored_state == "equal"


# one change per table the replay fills: (sql, table named, key named)
TAMPER = [
    ("UPDATE st_grants SET tier = 'enterprise' WHERE idx = "
     "(SELECT min(idx) FROM st_grants)", "st_grants", "digest"),
    ("DELETE FROM st_revoked WHERE digest = (SELECT min(digest) FROM st_revoked)",
     "st_revoked", "digest"),
    ("UPDATE st_types SET type = 'grant' WHERE idx = 0", "st_types", "idx = (0)"),
    ("UPDATE st_keys SET name = 'mallory' WHERE role = 'attester'", "st_keys", "key"),
    ("INSERT INTO st_attestations (subject, idx) VALUES (x'00', 1)", "st_attestations",
     "subject, idx"),
    ("UPDATE st_incidents SET closed = NULL", "st_incidents", "idx"),
    ("UPDATE st_withdrawals SET in_set = 1 - in_set", "st_withdrawals", "idx"),
    ("UPDATE st_meta SET last_time = last_time + 1", "st_meta", "id"),
    ("INSERT INTO st_revtree VALUES (9, x'00ff', zeroblob(32), 2)", "st_revtree",
     "depth, prefix"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "table", "named"), TAMPER)
def test_a_changed_stored_row_is_a_finding_naming_it(world, tmp_path, sql, table, named):
    path = _copy(world, tmp_path)
    _tamper(path, sql)
    r = audit_db(path, workers=0)
    assert not r.clean and r.stored_state == "differs"
    msgs = [f.message for f in r.findings]
    assert len(msgs) == 1, msgs
    assert msgs[0].startswith(f"stored state: table {table} differs from the replay at {named}")


def test_every_state_table_is_compared(world):
    assert {t for _, t, _ in TAMPER} | {"st_kids", "st_targets", "st_terms", "st_requests",
            "st_decisions", "st_appeals"} == {name for name, _ in STATE_TABLES}  # fmt: skip


def test_a_wrong_kept_revoked_set_root_is_a_finding(world, tmp_path):
    path = _copy(world, tmp_path)
    _tamper(
        path,
        "UPDATE st_meta SET revset_cached = revset_version, revset_size = 7, "
        "revset_root = zeroblob(32)",
    )
    r = audit_db(path, workers=0)
    assert [f.message.split(" (")[0] for f in r.findings] == [
        "stored state: the kept revoked-set root"
    ]


def test_a_file_without_the_tables_is_audited_as_before(world, tmp_path):
    path = _copy(world, tmp_path)
    conn = sqlite3.connect(path)
    for name, _ in STATE_TABLES:
        conn.execute(f"DROP TABLE {name}")
    conn.commit()
    conn.close()
    r = audit_db(path, workers=0)
    assert r.clean and r.stored_state == "absent"


def test_lic_ledger_audit_exits_1_on_a_changed_stored_state(world, tmp_path, lic_cli):
    path = _copy(world, tmp_path)
    _tamper(path, TAMPER[0][0])
    res = lic_cli("ledger", "audit", "--db", str(path), "--quiet", "--workers", "0", code=1)
    assert "stored state: table st_grants differs from the replay" in res.output


def test_lic_ledger_rebuild_state_repairs_what_the_audit_found(world, tmp_path, lic_cli):
    path = _copy(world, tmp_path)
    _tamper(path, TAMPER[1][0])
    lic_cli("ledger", "audit", "--db", str(path), "--quiet", "--workers", "0", code=1)
    res = lic_cli("ledger", "rebuild-state", "--db", str(path), "--json", code=0)
    assert res.json == {"db": str(path), "records": audit_db(path, workers=0).size}
    lic_cli("ledger", "audit", "--db", str(path), "--quiet", "--workers", "0", code=0)
    assert audit_db(path, workers=0).stored_state == "equal"
