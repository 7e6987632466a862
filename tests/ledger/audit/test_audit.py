"""The auditor's replay: a clean ledger of every entry type, and every kind of tampering. The
ledger's tests run on both backends (``module_ledger_at``: a SQLite file, a PostgreSQL schema);
the tampered exports are one JSONL file whatever backend wrote it (the same bytes on both,
tests/ledger/store), so those run once."""

import io
import json
import shutil
import sqlite3

import psycopg
import pytest

from helpers.ledger_world import T0, build, key
from keys import b64std_decode, b64std_encode
from ledger.audit import audit_db, audit_jsonl
from ledger.entries import ENTRY_TYPES, decode_record, encode_record, make_entry
from ledger.store import Ledger, append_entry
from lic import cbor


def _built(location):
    w = build(location)
    buf = io.StringIO()
    with Ledger.open(w.path) as led:
        led.export_jsonl(buf)
    w.lines = buf.getvalue().splitlines()
    return w


@pytest.fixture(scope="module")
def world(module_ledger_at):
    """The ledger of every entry type on this module's backend, and its export."""
    return _built(module_ledger_at("world"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The export of the ledger of every entry type (for the JSONL audit: no store)."""
    return _built(tmp_path_factory.mktemp("exported") / "ledger.db")


def audit_lines(tmp_path, lines, workers=0):
    p = tmp_path / "tampered.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return audit_jsonl(p, workers=workers)


def record_lines(w):
    return [i for i, line in enumerate(w.lines) if '"record"' in line]


def test_world_holds_every_entry_type(world):
    with Ledger.open(world.path) as led:
        types = {decode_record(raw).entry_type for _, raw in led.iter_records()}
    assert types == ENTRY_TYPES


@pytest.mark.parametrize("workers", [0, 2])
def test_clean_ledger_audits_clean_and_derives_state(world, workers):
    r = audit_db(world.path, workers=workers)
    assert r.findings == []
    assert r.size == len(record_lines(world))
    with Ledger.open(world.path) as led:
        assert r.root == led.root()
    assert len(r.checkpoints) >= 5
    st = r.state
    root = st.status(world.root_token, T0 + 10**5)
    child = st.status(world.child_token, T0 + 10**5)
    assert (root.status, child.status, child.via) == ("revoked", "revoked", world.root_token)
    assert st.status(world.child_token, T0 + 120).status == "suspended"
    assert st.status(world.child_token, T0 + 160).status == "active"  # reinstated, not yet revoked
    assert st.open_incidents() == []
    assert st.terms_in_force(T0)["acme-license"]["version"] == "1.0"


def test_jsonl_and_db_replays_agree(world, tmp_path):
    a, b = audit_db(world.path, workers=0), audit_lines(tmp_path, world.lines)
    assert (a.size, a.root, a.findings) == (b.size, b.root, b.findings) == (a.size, a.root, [])


def first_index(result):
    assert result.findings, "tampering went unnoticed"
    return min(f.index for f in result.findings)


def mutate_record(line, fn):
    doc = json.loads(line)
    rec = decode_record(b64std_decode(doc["record"]))
    raw = fn(rec)
    doc["record"] = b64std_encode(raw)
    return json.dumps(doc, sort_keys=True)


FIELD_CHANGES = {
    "time": lambda r: encode_record(r.index, r.prev, r.time + 1, r.entry_type, r.entry),
    "prev": lambda r: encode_record(
        r.index, bytes([r.prev[0] ^ 1]) + r.prev[1:], r.time, r.entry_type, r.entry
    ),
    "index": lambda r: encode_record(r.index + 1, r.prev, r.time, r.entry_type, r.entry),
    "type": lambda r: encode_record(r.index, r.prev, r.time, "note", r.entry),
    "entry-byte": lambda r: encode_record(
        r.index, r.prev, r.time, r.entry_type, r.entry[:-1] + bytes([r.entry[-1] ^ 1])
    ),
}


@pytest.mark.parametrize("field", sorted(FIELD_CHANGES))
def test_changing_any_record_is_reported_at_its_index(exported, tmp_path, field):
    for pos, line_no in enumerate(record_lines(exported)):
        lines = list(exported.lines)
        lines[line_no] = mutate_record(lines[line_no], FIELD_CHANGES[field])
        assert first_index(audit_lines(tmp_path, lines)) == pos, (field, pos)


def test_flipping_bytes_of_any_record_is_reported_at_its_index(exported, tmp_path):
    for pos, line_no in enumerate(record_lines(exported)):
        raw = b64std_decode(json.loads(exported.lines[line_no])["record"])
        for at in range(0, len(raw), max(1, len(raw) // 6)):
            lines = list(exported.lines)
            bad = raw[:at] + bytes([raw[at] ^ 0x40]) + raw[at + 1 :]
            lines[line_no] = mutate_record(lines[line_no], lambda r, bad=bad: bad)
            assert first_index(audit_lines(tmp_path, lines)) == pos, (pos, at)


def test_removing_any_record_is_reported_at_its_index(exported, tmp_path):
    for pos, line_no in enumerate(record_lines(exported)):
        lines = exported.lines[:line_no] + exported.lines[line_no + 1 :]
        assert first_index(audit_lines(tmp_path, lines)) == pos


def test_reordering_any_two_neighbours_is_reported(exported, tmp_path):
    recs = record_lines(exported)
    for pos in range(len(recs) - 1):
        lines = list(exported.lines)
        a, b = recs[pos], recs[pos + 1]
        lines[a], lines[b] = lines[b], lines[a]
        assert first_index(audit_lines(tmp_path, lines)) == pos


def test_inserting_a_record_is_reported_at_its_index(exported, tmp_path):
    recs = record_lines(exported)
    for pos in range(len(recs)):
        copy_of = recs[pos - 1] if pos else recs[1]
        lines = list(exported.lines)
        lines.insert(recs[pos], exported.lines[copy_of])
        assert first_index(audit_lines(tmp_path, lines)) == pos


def _later(raw):
    rec = decode_record(bytes(raw))
    return encode_record(rec.index, rec.prev, rec.time + 5, rec.entry_type, rec.entry)


def test_tampering_the_sqlite_file_is_reported(exported, tmp_path):
    """SQLite's own: a copy of the file with a record rewritten behind its triggers (the
    PostgreSQL counterpart, a rewritten table row, is the next test)."""
    n = len(record_lines(exported))
    for pos in (0, n // 2, n - 1):
        copy = tmp_path / f"copy{pos}.db"
        shutil.copy(exported.path, copy)
        conn = sqlite3.connect(copy)
        conn.execute("DROP TRIGGER records_append_only_u")
        raw = conn.execute("SELECT data FROM records WHERE idx = ?", (pos,)).fetchone()[0]
        conn.execute("UPDATE records SET data = ? WHERE idx = ?", (_later(raw), pos))
        conn.commit()
        conn.close()
        assert first_index(audit_db(copy, workers=0)) == pos


def test_tampering_a_postgresql_row_is_reported(exported, pg_cluster):
    """PostgreSQL's own: the ledger imported into a schema, records rewritten behind its
    triggers, last to first (one import: each audit names the earliest rewritten one)."""
    n = len(record_lines(exported))
    url = pg_cluster.new_url("tampered")
    Ledger.import_jsonl(url, exported.lines).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER records_append_only ON records")
    for pos in (n - 1, n // 2, 0):
        with psycopg.connect(url, autocommit=True) as conn:
            raw = conn.execute("SELECT data FROM records WHERE idx = %s", (pos,)).fetchone()[0]
            conn.execute("UPDATE records SET data = %s WHERE idx = %s", (_later(raw), pos))
        assert first_index(audit_db(url, workers=0)) == pos


def test_a_signature_failure_falls_back_to_the_exact_sequential_findings(exported, tmp_path):
    recs = record_lines(exported)
    lines = list(exported.lines)
    flip = FIELD_CHANGES["entry-byte"]
    lines[recs[3]] = mutate_record(lines[recs[3]], flip)
    par, seq = audit_lines(tmp_path, lines, workers=2), audit_lines(tmp_path, lines, workers=0)
    assert par.findings == seq.findings and first_index(par) == 3


def raw_append(led, etype, payload, author, t):
    """Append WITHOUT the typed checks, as a dishonest or buggy log could."""
    return led.append(etype, make_entry(etype, payload, author), now=t).index


def test_forged_author_role_is_reported(ledger_at):
    w = build(ledger_at("l"))
    with Ledger.open(w.path) as led:
        grant = {
            "at": T0,
            "token_digest": bytes(32),
            "holder": w.holder.public_key.raw,
            "licensee": bytes(32),
            "tier": "academic",
            "not_before": T0,
            "not_after": T0 + 10,
        }
        with pytest.raises(Exception, match="role 'responder'"):
            append_entry(led, "grant", grant, w.responder, now=T0 + 10**4)
        bad = raw_append(led, "grant", grant, w.responder, T0 + 10**4)
        led.checkpoint(w.log)
    r = audit_db(w.path, workers=0)
    assert [f.index for f in r.findings] == [bad]
    assert "has role 'responder'" in r.findings[0].message


def test_signature_after_compromise_is_reported(ledger_at):
    w = build(ledger_at("l"))
    with Ledger.open(w.path) as led:
        t = T0 + 10**4
        append_entry(
            led,
            "key.compromised",
            {"at": t, "key": w.issuer.public_key.raw, "since": t + 50},
            w.log,
            now=t,
        )
        revoke = {
            "at": t,
            "tokens": [w.child_token],
            "reason": "key_compromise",
            "effective": t,
            "cascade": True,
        }
        ok = raw_append(led, "revoke", revoke, w.issuer, t + 49)
        bad = raw_append(led, "revoke", {**revoke, "at": t + 60}, w.issuer, t + 60)
    r = audit_db(w.path, workers=0)
    assert [f.index for f in r.findings] == [bad]
    assert "compromised" in r.findings[0].message and ok == bad - 1


def test_unknown_entry_types_and_bad_payloads_are_flagged(ledger_at):
    w = build(ledger_at("l"))
    with Ledger.open(w.path) as led:
        a = led.append("note", make_raw(w.issuer, "note", {"hello": 1}), now=T0 + 10**4).index
        b = led.append(
            "grant", make_raw(w.issuer, "grant", {"at": "yesterday"}), now=T0 + 10**4
        ).index
    r = audit_db(w.path, workers=0)
    assert {f.index for f in r.findings} == {a, b}
    assert "unknown entry type" in r.findings[0].message
    about_b = " | ".join(f.message for f in r.findings if f.index == b)
    assert "at: must be an integer" in about_b and "token_digest: missing" in about_b


def make_raw(author, etype, payload):
    from ledger.entries import sign_entry

    return sign_entry(etype, cbor.encode(payload), author)


def test_since_detects_a_rewritten_history(world, tmp_path, module_ledger_at):
    with Ledger.open(world.path) as led:
        saved = led.latest_checkpoint().note
    (tmp_path / "saved.note").write_bytes(saved)
    assert audit_db(world.path, since=tmp_path / "saved.note", workers=0).findings == []
    # A fork: the same records up to some point, then a different history, re-signed by the log.
    fork = module_ledger_at("fork")
    with Ledger.open(world.path) as led, Ledger.create(fork, led.origin, world.log) as f2:
        rows = list(led.iter_records())
        keep = len(rows) - 3
        f2._write(entries_bytes=[raw for _, raw in rows[:keep]], entries=None, t=0, log_key=None)
        for _ in range(3):
            append_entry(
                f2,
                "key.add",
                {"at": T0, "key": key(90 + _).public_key.raw, "role": "issuer", "name": f"x{_}"},
                world.log,
                now=T0,
            )
        f2.checkpoint(world.log)
    r = audit_db(fork, since=tmp_path / "saved.note", workers=0)
    assert any("history was rewritten" in f.message for f in r.findings)
