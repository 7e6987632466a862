"""The derived state stored in the ledger file (ADR 0008): every write keeps it equal to a
replay of the committed records, typed appends read it (no replay), a file made before the
tables existed gains them once, and ``rebuild_state`` builds them again."""

import sqlite3

import pytest

from helpers.ledger_world import T0, World, build, key
from ledger.audit import audit_db
from ledger.state import SCHEMA_VERSION, _apply, state_of
from ledger.store import Ledger, append_entry
from ledger.tlog import RevokedSet, SparseRevokedSet, format_revset_extension


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return build(tmp_path_factory.mktemp("stored") / "ledger.db")


def _replayed(led: Ledger):
    return state_of(led.iter_records(0, led.size), led.log_verifier.public_key.raw)


def _same_as_replay(led: Ledger) -> None:
    stored = led.stored_state().table_rows()
    replayed = _replayed(led).table_rows()
    for rows in (stored, replayed):  # the kept revoked-set root: a cache, compared below
        rows["st_meta"] = [r[:5] for r in rows["st_meta"]]
    assert stored == replayed
    rs = RevokedSet(_replayed(led).revoked_digests(), presorted=True)
    assert led.stored_state().revset_commitment() == (rs.size, rs.root)


def _strip_tables(path) -> None:
    """Make the file look like one made before the state tables existed."""
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for name in names:
        if name.startswith("st_"):
            conn.execute(f"DROP TABLE {name}")
    conn.commit()
    conn.close()


def _add_key(led: Ledger, world: World, n: int, progress=None) -> int:
    t = T0 + 10**5 + n
    payload = {"at": t, "key": key(40 + n).public_key.raw, "role": "attester", "name": f"k{n}"}
    a = append_entry(led, "key.add", payload, world.log, now=t, progress=progress)
    return a.index


def test_every_write_keeps_the_stored_state_equal_to_a_replay(world):
    with Ledger.open(world.path) as led:
        assert led.size > 10
        _same_as_replay(led)


def test_a_typed_append_reads_the_stored_state_and_replays_nothing(world, tmp_path, monkeypatch):
    path = tmp_path / "l.db"
    path.write_bytes(world.path.read_bytes())
    with Ledger.open(path) as led:
        size = led.size
        monkeypatch.setattr(
            Ledger, "iter_records", lambda *a, **k: pytest.fail("a typed append replayed")
        )
        seen: list[int] = []
        assert _add_key(led, world, 1, seen.append) == size
        assert seen == []
        monkeypatch.undo()
        _same_as_replay(led)


def test_a_file_without_the_tables_gains_them_once_with_progress(world, tmp_path, monkeypatch):
    monkeypatch.setattr(_apply, "STATE_PROGRESS_EVERY", 4)
    path = tmp_path / "old.db"
    path.write_bytes(world.path.read_bytes())
    _strip_tables(path)
    with Ledger.open(path) as led:
        size = led.size
        assert not _has_tables(led)
        seen: list[int] = []
        assert _add_key(led, world, 2, seen.append) == size
        assert seen == [*range(4, size + 1, 4), *([size] if size % 4 else [])]
        seen.clear()
        assert _add_key(led, world, 3, seen.append) == size + 1
        assert seen == []  # built once
        _same_as_replay(led)
    assert audit_db(path, workers=0).clean


def test_a_failed_build_leaves_the_old_file_as_it_was(world, tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    path.write_bytes(world.path.read_bytes())
    _strip_tables(path)

    def crash(n: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_apply, "STATE_PROGRESS_EVERY", 4)
    with Ledger.open(path) as led, pytest.raises(KeyboardInterrupt):
        led.ensure_state(crash)
    with Ledger.open(path) as led:
        assert not _has_tables(led)  # one transaction: nothing of the build is left
        assert led.state_at(led.size).size == led.size  # read by a replay meanwhile
    assert audit_db(path, workers=0).clean


def test_rebuild_state_builds_the_same_tables_again(world, tmp_path):
    path = tmp_path / "l.db"
    path.write_bytes(world.path.read_bytes())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE st_grants SET tier = 'enterprise'")
    conn.commit()
    conn.close()
    with Ledger.open(path) as led:
        assert led.rebuild_state() == led.size
        _same_as_replay(led)


def test_a_checkpoint_reads_its_revoked_set_line_from_the_stored_state(world, tmp_path):
    path = tmp_path / "l.db"
    path.write_bytes(world.path.read_bytes())
    with Ledger.open(path) as led:
        _add_key(led, world, 4)
        rs = SparseRevokedSet(_replayed(led).revoked_digests(), presorted=True)
        cp = led.checkpoint(world.log)
        assert cp.checkpoint.size == led.size
        line = format_revset_extension(rs.size, rs.root, version=2)
        assert cp.checkpoint.extensions[0] == line


def _has_tables(led: Ledger) -> bool:
    row = led.connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'st_meta'"
    ).fetchone()
    return row is not None


def test_tables_of_another_schema_version_are_rebuilt_by_the_next_write(world, tmp_path):
    path = tmp_path / "l.db"
    path.write_bytes(world.path.read_bytes())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE st_meta SET schema = schema + 1, last_time = 0")
    conn.commit()
    conn.close()
    assert audit_db(path, workers=0).stored_state == "not compared"
    with Ledger.open(path) as led:
        assert led.state_at(led.size).last_time > 0  # read by a replay meanwhile
        _add_key(led, world, 5)
        _same_as_replay(led)
    assert audit_db(path, workers=0).stored_state == "equal"


def test_tables_of_the_schema_before_the_v2_tree_are_rebuilt_on_the_first_write(world, tmp_path):
    path = tmp_path / "l.db"
    path.write_bytes(world.path.read_bytes())
    conn = sqlite3.connect(path)  # as the file was before st_revtree (schema version 1)
    conn.execute("DROP TABLE st_revtree")
    conn.execute("UPDATE st_meta SET schema = 1")
    conn.commit()
    conn.close()
    with Ledger.open(path) as led:
        _add_key(led, world, 5)
        _same_as_replay(led)
        members = _replayed(led).revoked_digests()
        rs = SparseRevokedSet(members, presorted=True)
        assert led.stored_state().revoked_commitment() == rs.commitment


def test_tables_of_schema_2_lose_st_types_in_place_on_the_first_write(world, tmp_path):
    path = tmp_path / "l.db"
    path.write_bytes(world.path.read_bytes())
    conn = sqlite3.connect(path)  # as the file was with schema 2: a row per record in st_types
    conn.execute("CREATE TABLE st_types (idx INTEGER PRIMARY KEY, type TEXT NOT NULL)")
    conn.execute("INSERT INTO st_types VALUES (0, 'key.add')")
    conn.execute("UPDATE st_meta SET schema = 2")
    conn.execute("UPDATE st_keys SET name = 'kept' WHERE role = 'log'")  # a rebuild undoes it
    conn.commit()
    conn.close()
    with Ledger.open(path) as led:
        led.ensure_state()  # what a write does first
        conn = led.connection
        assert conn.execute("SELECT schema FROM st_meta").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT name FROM st_keys WHERE role = 'log'").fetchone()[0] == "kept"
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'st_types'").fetchall()
        conn.execute("UPDATE st_keys SET name = 'log' WHERE role = 'log'")
        _add_key(led, world, 5)
        _same_as_replay(led)
    assert audit_db(path, workers=0).stored_state == "equal"
