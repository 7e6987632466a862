"""The same ledger on SQLite and PostgreSQL (ADR 0010, SPEC 7.4): the same entries with the
same times give the same records, roots, checkpoints and export bytes on both; an export of one
imports into the other and exports back byte for byte (library and CLI); the audit replays a
PostgreSQL ledger and finds its stored state equal to the replay's; the report is the same."""

import io

import pytest

from helpers.ledger_world import build
from keys import SigningKey
from ledger.audit import audit_db
from ledger.entries import sign_entry
from ledger.store import Ledger, append_entry
from ledger.tlog import cosign, parse_note

LOG = SigningKey.from_seed(bytes(range(32)))
AUTHOR = SigningKey.from_seed(bytes(range(1, 33)))
ORIGIN = "example.com/backends"


def _export(location) -> str:
    buf = io.StringIO()
    with Ledger.open(location) as led:
        led.export_jsonl(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, pg_cluster):
    """The ledger_world scenario (every entry type, typed appends, checkpoints) built on a
    SQLite file and on a PostgreSQL schema."""
    return (
        build(tmp_path_factory.mktemp("backends") / "w.db"),
        build(pg_cluster.new_url("world")),
    )


def test_the_same_entries_give_the_same_bytes_on_both_backends(worlds):
    lite, pg = worlds
    a, b = _export(lite.path), _export(pg.path)
    assert a == b and len(a.splitlines()) > 30
    with Ledger.open(lite.path) as x, Ledger.open(pg.path) as y:
        assert x.size == y.size
        assert [x.record_bytes(i) for i in range(x.size)] == [
            y.record_bytes(i) for i in range(y.size)
        ]
        for size in range(1, x.size + 1):
            assert x.root(size) == y.root(size)
            for i in range(0, size, 3):
                assert x.inclusion_proof(i, size) == y.inclusion_proof(i, size)
            assert x.consistency_proof(1, size) == y.consistency_proof(1, size)
        assert [c.note for c in x.checkpoints()] == [c.note for c in y.checkpoints()]
        assert x.stored_state().table_rows() == y.stored_state().table_rows()
        assert x.receipt(2) == y.receipt(2)


def test_batches_and_cosignatures_give_the_same_bytes(ledger_at, tmp_path):
    """Plain batches, single appends with in-transaction checkpoints, and witness lines
    (stored in the order first given, replaced per signer) export the same on both."""
    witnesses = [SigningKey.from_seed(bytes([k]) * 32) for k in (7, 8)]
    exports = []
    for location in (tmp_path / "a.db", ledger_at("b")):
        with Ledger.create(location, ORIGIN, LOG) as led:
            led.append_batch([("test", sign_entry("test", b"%d" % i, AUTHOR)) for i in range(9)],
                             now=1_700_000_000)  # fmt: skip
            led.append("test", sign_entry("test", b"one", AUTHOR), now=1_700_000_100, log_key=LOG)
            cp = led.latest_checkpoint()
            text = parse_note(cp.note).text
            for t, k in ((1_700_000_200, 1), (1_700_000_250, 0), (1_700_000_300, 1)):
                line = cosign(text, witnesses[k], f"w{k}.example", t)
                led.add_cosignatures(cp.checkpoint.size, [line])
            assert [x[:4] for x in led.cosignatures(cp.checkpoint.size)] == ["— w1", "— w0"]
            payload = {"key": AUTHOR.public_key.raw, "role": "issuer", "name": "a", "at": 1}
            append_entry(led, "key.add", payload, LOG, now=1_700_000_400, log_key=LOG)
        exports.append(_export(location))
    assert exports[0] == exports[1]


def test_import_of_a_sqlite_export_into_postgres_exports_back_identical(
    worlds, pg_cluster, monkeypatch
):
    monkeypatch.setattr("ledger.audit._stored._COPY_PAGE", 3)  # the audit copies many pages
    lite, _ = worlds
    original = _export(lite.path)
    url = pg_cluster.new_url("imported")
    Ledger.import_jsonl(url, original.splitlines()).close()
    assert _export(url) == original
    result = audit_db(url)
    assert result.clean and result.stored_state == "equal"


def test_cli_import_into_postgres_and_export_back(worlds, pg_cluster, lic_cli, tmp_path):
    lite, _ = worlds
    exported = tmp_path / "lite.jsonl"
    lic_cli("ledger", "export", "--jsonl", str(exported), "--db", str(lite.path), code=0)
    url = pg_cluster.new_url("cli")
    lic_cli("ledger", "import", str(exported), "--db", url, code=0)
    back = tmp_path / "back.jsonl"
    lic_cli.with_env(LIC_LEDGER_DB=url)("ledger", "export", "--jsonl", str(back), code=0)
    assert back.read_bytes() == exported.read_bytes()
    audit = lic_cli("ledger", "audit", "--db", url, "--json", code=0)
    assert audit.json["clean"] is True
    for db, out in ((url, "pg-report"), (str(lite.path), "lite-report")):
        lic_cli("ledger", "report", "--db", db, "--out", str(tmp_path / out), "--quiet", code=0)
    for name in ("report.json", "index.html"):  # the same report from either backend
        pg_doc = (tmp_path / "pg-report" / name).read_bytes()
        assert pg_doc == (tmp_path / "lite-report" / name).read_bytes()


def test_a_tampered_postgres_state_table_is_an_audit_finding(worlds, pg_cluster, monkeypatch):
    monkeypatch.setattr("ledger.audit._stored._COPY_PAGE", 2)
    lite, _ = worlds
    url = pg_cluster.new_url("tampered")
    Ledger.import_jsonl(url, _export(lite.path).splitlines()).close()
    with Ledger.open(url) as led:
        last = led.connection.execute("SELECT max(idx) FROM st_requests").fetchone()[0]
        led.connection.execute("UPDATE st_requests SET purpose = 'x' WHERE idx = ?", (last,))
    result = audit_db(url)
    assert result.stored_state == "differs"
    assert [f.message.split(" differs")[0] for f in result.findings] == [
        "stored state: table st_requests"
    ]
    assert f"idx = ({last})" in result.findings[0].message  # on the copy's last page


def test_a_statement_failing_inside_a_pipelined_write_undoes_the_whole_append(pg_cluster):
    """On PostgreSQL a write transaction's statements are pipelined: an error of one of them
    surfaces later (at a read or at COMMIT). The append still fails as a whole, writes
    nothing, and the handle appends normally afterwards."""
    import psycopg

    url = pg_cluster.new_url("pipelined")
    with Ledger.create(url, ORIGIN, LOG) as led:
        led.append_batch([("test", sign_entry("test", b"first", AUTHOR))], now=5, log_key=LOG)
        before = _export(url)
        led.connection.execute(
            "CREATE FUNCTION no_tree() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'no tree rows today'; END $$"
        )
        led.connection.execute(
            "CREATE TRIGGER no_tree BEFORE INSERT ON tree FOR EACH ROW EXECUTE FUNCTION no_tree()"
        )
        for write in (
            lambda: led.append("test", sign_entry("test", b"x", AUTHOR), now=6, log_key=LOG),
            lambda: led.append_batch([("test", sign_entry("test", b"y", AUTHOR))] * 3, now=6),
        ):
            with pytest.raises(psycopg.Error, match="no tree rows today"):
                write()
            assert not led.connection.in_transaction
            assert led.size == 1 and _export(url) == before
        led.connection.execute("DROP TRIGGER no_tree ON tree")
        led.append("test", sign_entry("test", b"z", AUTHOR), now=7, log_key=LOG)
        assert led.size == 2 and led.latest_checkpoint().checkpoint.size == 2


def test_postgres_typed_appends_keep_the_stored_state_equal_to_a_replay(
    worlds, pg_cluster, monkeypatch
):
    """As on a file (test_stored_state): a typed append on PostgreSQL reads and updates the
    stored state in its transaction and replays nothing; the tables equal a replay's before
    and after; rebuild_state builds the same tables again."""
    from helpers.ledger_world import T0, key
    from ledger.state import state_of

    lite, _ = worlds
    url = pg_cluster.new_url("typed")
    Ledger.import_jsonl(url, _export(lite.path).splitlines()).close()

    def same_as_replay(led):
        replayed = state_of(led.iter_records(0, led.size), led.log_verifier.public_key.raw)
        stored, again = led.stored_state().table_rows(), replayed.table_rows()
        for rows in (stored, again):  # the kept revoked-set root: a cache
            rows["st_meta"] = [r[:5] for r in rows["st_meta"]]
        assert stored == again

    with Ledger.open(url) as led:
        same_as_replay(led)
        size = led.size
        monkeypatch.setattr(
            Ledger, "iter_records", lambda *a, **k: pytest.fail("a typed append replayed")
        )
        t = T0 + 10**5
        payload = {"at": t, "key": key(41).public_key.raw, "role": "attester", "name": "k41"}
        assert append_entry(led, "key.add", payload, lite.log, now=t).index == size
        monkeypatch.undo()
        same_as_replay(led)
        before = led.stored_state().table_rows()
        assert led.rebuild_state() == size + 1
        assert led.stored_state().table_rows() == before


def test_the_cli_never_prints_a_password_from_a_ledger_url(worlds, pg_cluster, lic_cli, tmp_path):
    lite, _ = worlds
    exported = tmp_path / "lite.jsonl"
    lic_cli("ledger", "export", "--jsonl", str(exported), "--db", str(lite.path), code=0)

    def with_password(url):  # trust auth: the password is never checked, only carried
        user, rest = url.split("://", 1)[1].split("@", 1)
        return user, f"postgresql://{user}:s3cret-pw@{rest}"

    user, text_url = with_password(pg_cluster.new_url("pw"))
    _, json_url = with_password(pg_cluster.new_url("pwj"))
    shown = f"postgresql://{user}:***@"
    runs = [
        lic_cli("ledger", "import", str(exported), "--db", text_url, code=0),
        lic_cli("ledger", "import", str(exported), "--db", json_url, "--json", code=0),
        lic_cli("ledger", "rebuild-state", "--db", json_url, "--json", code=0),
    ]
    for run in runs:
        assert "s3cret-pw" not in run.output
        assert shown in run.output
    assert runs[1].json["db"].startswith(shown)
