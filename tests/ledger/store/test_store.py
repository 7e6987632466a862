"""Records and the store: strict record decoding, appends, checkpoints advancing by
compare-and-swap, append-only enforcement, receipts, export and re-verifying import. The store
tests run on both backends (``ledger_at``: a SQLite file, a PostgreSQL schema)."""

import io
import json
import sqlite3

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledger.entries
from helpers.merkle_reference import mth
from keys import (
    ConflictError,
    LedgerIntegrityError,
    LicError,
    MalformedError,
    SigningKey,
    b64std_decode,
    b64std_encode,
)
from ledger.entries import (
    ZERO_HASH,
    check_entry,
    decode_record,
    encode_record,
    sign_entry,
    verify_entry,
    verify_receipt,
)
from ledger.store import EXPORT_FORMAT, Ledger, begin_write
from ledger.tlog import EMPTY_ROOT, leaf_hash, verify_checkpoint_consistency
from lic import cbor, cose

LOG = SigningKey.from_seed(
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
)
AUTHOR = SigningKey.from_seed(
    bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
)
ORIGIN = "example.com/lic-log"


@pytest.fixture
def led(ledger_at):
    x = Ledger.create(ledger_at("l"), ORIGIN, LOG)
    yield x
    x.close()


def _pg(led):
    return led.path is None


def _gone(location):
    """Whether nothing of a ledger is left at ``location`` (a file, or a schema's tables)."""
    if isinstance(location, str):
        with psycopg.connect(location) as c:
            return c.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).fetchone() == (0,)
    return not location.exists()


def entry(i=0, etype="test"):
    return sign_entry(etype, f"payload {i}".encode(), AUTHOR)


# -- records -----------------------------------------------------------------------------------


def test_record_round_trip_and_exact_bytes():
    e = entry()
    raw = encode_record(7, bytes(range(32)), 1234, "test", e)
    rec = decode_record(raw)
    assert (rec.index, rec.prev, rec.time, rec.entry_type, rec.entry) == (
        7,
        bytes(range(32)),
        1234,
        "test",
        e,
    )
    assert rec.raw == raw and rec.leaf_hash == leaf_hash(raw)
    assert verify_entry(rec, AUTHOR.public_key) == b"payload 0"


def _enc_map(m):
    return cbor.encode(m)


def _base():
    return {"v": 1, "idx": 0, "prev": bytes(32), "time": 5, "type": "test", "entry": entry()}


@pytest.mark.parametrize(
    "change",
    [
        {"v": 2},
        {"v": True},
        {"idx": -1},
        {"idx": "0"},
        {"idx": 1 << 63},
        {"prev": bytes(31)},
        {"prev": "x" * 32},
        {"time": -5},
        {"time": False},
        {"type": "Test"},
        {"type": ""},
        {"type": "a" * 65},
        {"type": "other"},  # differs from the entry's protected typ
        {"entry": b"\xa0"},
        {"entry": "text"},
        {"extra": 1},
    ],
)
def test_record_fields_are_checked(change):
    m = _base()
    m.update(change)
    with pytest.raises(MalformedError):
        decode_record(_enc_map(m))


@given(
    index=st.integers(0, (1 << 63) - 1),
    prev=st.binary(min_size=32, max_size=32),
    time=st.integers(0, (1 << 63) - 1),
    etype=st.from_regex(r"[a-z][a-z0-9]{0,20}", fullmatch=True),
    entry=st.binary(max_size=70000),
)
@settings(max_examples=200, deadline=None)
def test_fast_record_encoder_is_deterministic_cbor(index, prev, time, etype, entry):
    m = {"v": 1, "idx": index, "prev": prev, "time": time, "type": etype, "entry": entry}
    assert encode_record(index, prev, time, etype, entry) == cbor.encode(m)


def test_one_record_encoder_reused_across_head_boundaries_is_deterministic_cbor():
    """The batch encoder caches the bytes after prev by (type, entry length) and picks the
    index head by range: one encoder reused across every CBOR head boundary, types and
    lengths must still equal the generic deterministic encoder."""
    enc = ledger.entries.RecordEncoder(1234)
    cuts = [0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1]
    indexes = sorted({max(0, min(c + d, 2**63 - 1)) for c in cuts for d in (-1, 0, 1)})
    for index in indexes:
        for etype in ("test", "a", "note.x"):
            for n in (0, 23, 24, 255, 256, 70000):
                e = bytes([index & 0xFF]) * n
                prev = bytes([n & 0xFF]) * 32
                m = {"v": 1, "idx": index, "prev": prev, "time": 1234, "type": etype, "entry": e}
                assert enc.encode(index, prev, etype, e) == cbor.encode(m)


def test_record_missing_field_refused():
    for k in _base():
        m = _base()
        del m[k]
        with pytest.raises(MalformedError):
            decode_record(_enc_map(m))


def test_record_non_canonical_encodings_refused():
    raw = encode_record(0, bytes(32), 5, "test", entry())
    cases = [
        raw + b"\x00",  # trailing byte
        b"\xbf" + raw[1:] + b"\xff",  # indefinite-length map
        raw[:-1],  # truncated
    ]
    # a map with a non-shortest head for "v": 1 (0x18 0x01 instead of 0x01)
    cases.append(raw.replace(b"av\x01", b"av\x18\x01", 1))
    for bad in cases:
        with pytest.raises(MalformedError):
            decode_record(bad)


def test_every_byte_flip_of_a_record_is_caught():
    """Any change either fails strict decoding or changes the leaf hash and what it says."""
    raw = encode_record(3, bytes(range(32)), 99, "test", entry())
    good = decode_record(raw)
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x01
        try:
            rec = decode_record(bytes(bad))
        except MalformedError:
            continue
        assert rec.leaf_hash != good.leaf_hash
        # The log's fields (index, prev, time) changed, or the author's signature fails.
        fields = (rec.index, rec.prev, rec.time, rec.entry_type)
        if fields == (good.index, good.prev, good.time, good.entry_type):
            with pytest.raises(LicError):
                verify_entry(rec, AUTHOR.public_key)


def _slow_check(etype, e):
    msg = cose.parse_sign1(e, max_size=ledger.entries.MAX_ENTRY_SIZE)
    ok = (
        msg.protected.get(1) == -8
        and msg.protected.get(16) == etype
        and isinstance(msg.protected.get(4), bytes)
        and msg.protected.get(4) != b""
    )
    if not ok:
        raise MalformedError("headers")
    return msg


def test_fast_entry_check_equals_the_strict_cose_parser():
    """check_entry's fast path accepts exactly what lic.cose.parse_sign1 accepts, with the same
    result, on every single-byte change of entries of several shapes."""
    samples = [
        entry(),
        sign_entry("test", b"", AUTHOR),
        sign_entry("test", b"p" * 300, AUTHOR),
        sign_entry("test", b"q" * 70000, AUTHOR),
        cose.sign1({1: -8, 4: b"k", 16: "test"}, b"x", AUTHOR, {5: b"iv"}),  # slow path
    ]
    for e in samples:
        positions = range(len(e)) if len(e) < 1000 else [*range(400), *range(len(e) - 400, len(e))]
        for i in positions:
            for delta in (0x01, 0x20, 0x80):
                bad = bytearray(e)
                bad[i] ^= delta
                bad = bytes(bad)
                try:
                    want = _slow_check("test", bad)
                except MalformedError:
                    want = None
                try:
                    got = check_entry("test", bad)
                except MalformedError:
                    got = None
                assert got == want, (i, delta)
    for e in (samples[0] + b"\x00", samples[0][:-1], samples[0][:5]):
        with pytest.raises(MalformedError):
            check_entry("test", e)


def test_entry_checks():
    with pytest.raises(MalformedError):  # no typ
        check_entry("test", cose.sign1({1: -8, 4: b"k"}, b"x", AUTHOR))
    with pytest.raises(MalformedError):  # no kid
        check_entry("test", cose.sign1({1: -8, 16: "test"}, b"x", AUTHOR))
    with pytest.raises(MalformedError):  # kid only unprotected
        check_entry("test", cose.sign1({1: -8, 16: "test"}, b"x", AUTHOR, {4: b"k"}))
    check_entry("test", cose.sign1({1: -8, 4: b"k", 16: "test"}, b"x", AUTHOR))
    rec = decode_record(encode_record(0, bytes(32), 0, "test", entry()))
    with pytest.raises(MalformedError):  # another key's kid
        verify_entry(rec, LOG.public_key)


# -- the store ---------------------------------------------------------------------------------


def test_create_signs_size_zero_and_open_reads_metadata_only(led, ledger_at, tmp_path):
    cp = led.latest_checkpoint()
    assert cp is not None and cp.checkpoint.size == 0 and cp.checkpoint.root == EMPTY_ROOT
    assert led.size == 0 and led.root() == EMPTY_ROOT
    again = Ledger.open(led.location)
    assert again.origin == ORIGIN and again.log_vkey == LOG.public_key.verifier_key(ORIGIN)
    again.close()
    with pytest.raises(MalformedError):
        Ledger.create(led.location, ORIGIN, LOG)
    if _pg(led):
        empty = ledger_at("empty")
        with pytest.raises(MalformedError, match="no ledger"):
            Ledger.open(empty)
        with psycopg.connect(empty, autocommit=True) as c:
            c.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        with pytest.raises(MalformedError, match="not a"):
            Ledger.open(empty)
        with pytest.raises(MalformedError, match="already holds"):
            Ledger.create(empty, ORIGIN, LOG)
        with psycopg.connect(empty) as c:  # a foreign table is left as it was
            assert c.execute("SELECT count(*) FROM meta").fetchone() == (0,)
        return
    with pytest.raises(MalformedError):
        Ledger.open(tmp_path / "missing.db")
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(MalformedError):
        Ledger.open(tmp_path / "junk.db")
    sqlite3.connect(tmp_path / "other.db").execute(
        "CREATE TABLE meta (key, value)"
    ).connection.commit()
    with pytest.raises(MalformedError):
        Ledger.open(tmp_path / "other.db")
    c = sqlite3.connect(tmp_path / "other.db")  # a foreign database is left as it was
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    c.close()


def test_store_settings_are_durable(led):
    if _pg(led):
        assert led._conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        assert led._conn.execute("SHOW fsync").fetchone()[0] == "on"
        return
    assert led._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert led._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_single_and_batch_appends_chain_and_match_reference(led):
    a = led.append("test", entry(0), now=10)
    assert (a.index, a.leaf_hash) == (0, leaf_hash(a.record))
    b = led.append_batch([("test", entry(i)) for i in range(1, 6)], now=11)
    assert [x.index for x in b] == [1, 2, 3, 4, 5]
    c = led.append("grant", entry(6, "grant"), now=12)
    assert c.index == 6 and led.size == 7
    prev = ZERO_HASH
    leaves = []
    for i, raw in led.iter_records():
        rec = decode_record(raw)
        assert rec.index == i and rec.prev == prev
        prev = rec.leaf_hash
        leaves.append(raw)
    assert led.root() == mth(leaves)
    assert led.record(6).entry_type == "grant" and led.record(2).time == 11
    assert led.leaf_hash(3) == leaf_hash(leaves[3])


def test_append_refuses_bad_entries_and_writes_nothing(led):
    led.append("test", entry())
    for bad in [("test", b"junk"), ("other", entry()), ("BAD", entry()), ("test", "str")]:
        with pytest.raises(MalformedError):
            led.append_batch([("test", entry(1)), bad])  # type: ignore[list-item]
    with pytest.raises(MalformedError):
        led.append_batch([])
    with pytest.raises(MalformedError):
        led.append("test", entry(), now=-1)
    assert led.size == 1


def test_append_with_log_key_advances_checkpoint_in_same_transaction(led):
    a = led.append("test", entry(), log_key=LOG)
    cp = led.latest_checkpoint()
    assert cp is not None and cp.checkpoint.size == 1 and cp.checkpoint.root == led.root(1)
    assert a.index == 0
    led.append_batch([("test", entry(i)) for i in range(4)])
    assert led.latest_checkpoint().checkpoint.size == 1  # no key, no checkpoint
    cp2 = led.checkpoint(LOG)
    assert cp2.checkpoint.size == 5
    assert led.checkpoint(LOG).note == cp2.note  # same size: unchanged
    sizes = [c.checkpoint.size for c in led.checkpoints()]
    assert sizes == [0, 1, 5]
    p = led.consistency_proof(1, 5)
    verify_checkpoint_consistency(cp.checkpoint, cp2.checkpoint, p)


def test_checkpoint_needs_the_log_key(led):
    led.append("test", entry())
    with pytest.raises(MalformedError):
        led.checkpoint(AUTHOR)
    with pytest.raises(MalformedError):
        led.append("test", entry(), log_key=AUTHOR)
    assert led.size == 1  # the failed append rolled back


def test_checkpoint_cas_refuses_going_back_and_a_rewritten_tree(led):
    led.append_batch([("test", entry(i)) for i in range(4)], log_key=LOG)
    conn = led._conn
    begin_write(conn)
    with pytest.raises(ConflictError):
        led._advance_checkpoint(3, led.root(3), LOG)
    conn.execute("ROLLBACK")
    # A head that disagrees with the stored tree: the log refuses to sign anything further.
    conn.execute("DROP TRIGGER head_forward_only" + (" ON head" if _pg(led) else ""))
    conn.execute("UPDATE head SET root = ? WHERE id = 0", (bytes(32),))
    led.append("test", entry())
    with pytest.raises(LedgerIntegrityError):
        led.checkpoint(LOG)
    with pytest.raises(LedgerIntegrityError):
        led.append("test", entry(), log_key=LOG)


def test_storage_is_append_only(led):
    led.append_batch([("test", entry(i)) for i in range(3)], log_key=LOG)
    conn = led._conn
    for sql, params in [
        ("UPDATE records SET data = ? WHERE idx = 1", (b"\0",)),
        ("DELETE FROM records WHERE idx = 2", ()),
        ("UPDATE tree SET hashes = ? WHERE idx = 0", (b"\0",)),
        ("DELETE FROM tree WHERE idx = 2", ()),
        ("UPDATE checkpoints SET note = ?", (b"\0",)),
        ("DELETE FROM checkpoints", ()),
        ("UPDATE head SET size = 1", ()),
        ("DELETE FROM head", ()),
    ]:
        with pytest.raises(
            (sqlite3.DatabaseError, psycopg.Error), match=r"append-only|go back|be deleted"
        ):
            conn.execute(sql, params)
    assert led.size == 3


def test_receipts_at_the_latest_checkpoint(led):
    led.append_batch([("test", entry(i)) for i in range(9)], log_key=LOG)
    led.append("test", entry(9))
    for i in range(9):
        r = led.receipt(i)
        receipt, cp = verify_receipt(r, led.log_verifier, led.record_bytes(i))
        assert cp.size == 9 and receipt.extra == led.record_bytes(i)
    with pytest.raises(MalformedError):  # not covered by the latest checkpoint
        led.receipt(9)


def test_tampered_stored_checkpoint_is_detected(led, ledger_at):
    led.append_batch([("test", entry(i)) for i in range(3)], log_key=LOG)
    other = Ledger.create(ledger_at("o"), ORIGIN, LOG)
    other.append_batch([("test", entry(i + 10)) for i in range(3)], log_key=LOG)
    forged = other.latest_checkpoint().note  # validly signed, other tree
    conn = led._conn
    conn.execute("DROP TRIGGER head_forward_only" + (" ON head" if _pg(led) else ""))
    conn.execute("UPDATE head SET note = ? WHERE id = 0", (forged,))
    with pytest.raises(LedgerIntegrityError):
        led.latest_checkpoint()
    other.close()


def test_export_import_round_trip(led, ledger_at):
    led.append_batch([("test", entry(i)) for i in range(20)], log_key=LOG)
    led.append("test", entry(20), log_key=LOG)
    buf = io.StringIO()
    assert led.export_jsonl(buf) == 21
    lines = buf.getvalue().splitlines()
    assert json.loads(lines[0])["format"] == EXPORT_FORMAT
    got = Ledger.import_jsonl(ledger_at("i"), lines)
    assert got.size == 21 and got.root() == led.root()
    assert [c.note for c in got.checkpoints()] == [c.note for c in led.checkpoints()]
    assert got.latest_checkpoint().note == led.latest_checkpoint().note
    got.close()


def _tampered_exports(lines):
    rec = json.loads(lines[3])
    raw = b64std_decode(rec["record"])
    yield "drop a record", lines[:3] + lines[4:]
    yield "swap records", [lines[0], lines[1], lines[3], lines[2], *lines[4:]]
    bad = bytearray(raw)
    bad[-1] ^= 1
    r2 = dict(rec, record=b64std_encode(bytes(bad)), leaf_hash=leaf_hash(bytes(bad)).hex())
    yield "changed record, fixed hash", [*lines[:3], json.dumps(r2), *lines[4:]]
    yield "changed leaf hash", [*lines[:3], json.dumps(dict(rec, leaf_hash="00" * 32)), *lines[4:]]
    yield "bad header", ['{"format": "x"}', *lines[1:]]
    yield "duplicate key", [lines[0], lines[1][:-1] + ', "index": 0}', *lines[2:]]
    yield "not json", [*lines[:2], "{", *lines[3:]]
    cp = json.loads(lines[-1])["checkpoint"]
    yield (
        "forged checkpoint",
        [*lines[:-1], json.dumps({"checkpoint": cp.replace("\n5\n", "\n4\n", 1)})],
    )
    other = SigningKey.from_seed(bytes(32))
    hdr = json.loads(lines[0])
    hdr["log_vkey"] = other.public_key.verifier_key(ORIGIN)
    yield "other log key", [json.dumps(hdr), *lines[1:]]
    # A validly re-chained but re-ordered history: record 1 rebuilt on top of a different prev.
    e = entry(99)
    forged = encode_record(1, leaf_hash(b"nope"), 0, "test", e)
    f = {"index": 1, "leaf_hash": leaf_hash(forged).hex(), "record": b64std_encode(forged)}
    yield "broken chain", [lines[0], lines[1], json.dumps(f), *lines[3:]]


def test_import_re_verifies_everything_and_leaves_nothing(led, ledger_at):
    led.append_batch([("test", entry(i)) for i in range(5)], log_key=LOG)
    buf = io.StringIO()
    led.export_jsonl(buf)
    lines = buf.getvalue().splitlines()
    for i, (why, bad) in enumerate(_tampered_exports(lines)):
        target = ledger_at(f"bad{i}")
        with pytest.raises(LicError):
            Ledger.import_jsonl(target, bad)
            raise AssertionError(why)
        assert _gone(target), why


def test_two_handles_interleaving_appends_keep_one_chain(led):
    other = Ledger.open(led.location)
    for i in range(20):
        (led if i % 3 else other).append("test", entry(i))
        if i % 5 == 0:
            other.append_batch([("test", entry(100 + i))] * 3)
    prev, leaves = ZERO_HASH, []
    for i, raw in led.iter_records():
        rec = decode_record(raw)
        assert rec.index == i and rec.prev == prev
        prev = rec.leaf_hash
        leaves.append(raw)
    assert led.root() == other.root() == mth(leaves)
    other.close()


def test_checkpoint_with_extension_lines(led):
    led.append("test", entry())
    cp = led.checkpoint(LOG, extensions=["revoked-root AAAA", "x-note 1"])
    # the log's own revoked-set line (SPEC 12.3) comes first, then the caller's lines
    empty = "lic-revoked/v2 0 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert cp.checkpoint.extensions == (empty, "revoked-root AAAA", "x-note 1")
    assert led.latest_checkpoint().note == cp.note
    with pytest.raises(MalformedError):
        led.append("test", entry())
        led.checkpoint(LOG, extensions=["bad\nline"])
    assert led.latest_checkpoint().note == cp.note


def test_a_full_node_cache_keeps_upper_levels_and_proofs_stay_exact(led, monkeypatch):
    """When the cache of stored hashes fills, it restarts one level higher (keeping the hot
    upper tree) instead of emptying and refilling for ever; proofs are unaffected."""
    import random

    from helpers.merkle_reference import path as ref_inclusion
    from helpers.merkle_reference import proof as ref_consistency

    monkeypatch.setattr("ledger.store._ledger._CACHE_NODES", 8)
    led.append_batch([("test", entry(i)) for i in range(600)])
    leaves = [raw for _, raw in led.iter_records()]  # the reference hashes them itself
    rng = random.Random(4)
    for _ in range(300):
        size = rng.randrange(2, 601)
        index = rng.randrange(size)
        assert led.inclusion_proof(index, size) == ref_inclusion(index, leaves[:size])
        m = rng.randrange(1, size)
        assert led.consistency_proof(m, size) == ref_consistency(m, leaves[:size])
        assert led.root(size) == mth(leaves[:size])
    assert led._cache_level > 4
    assert len(led._cache) <= 8 + 64  # one query's nodes at most beyond the cap
    assert all(n & 63 >= 4 for n in led._cache)


def test_a_write_lock_held_past_the_wait_is_a_conflict_and_writes_nothing(ledger_at, monkeypatch):
    """Another process holding the write lock (SQLite: the file's; PostgreSQL: the head row)
    longer than the wait: appends, checkpoints and cosignatures raise ConflictError (retry),
    not the driver's error; nothing is written, and the next try after the lock is released
    succeeds."""
    from keys import ConflictError
    from ledger.store import _conn as _store

    path = ledger_at("l")
    Ledger.create(path, ORIGIN, LOG).close()
    monkeypatch.setattr(_store, "BUSY_TIMEOUT_MS", 50)
    if isinstance(path, str):
        holder = psycopg.connect(path, autocommit=True)
        holder.execute("BEGIN")
        holder.execute("SELECT 1 FROM head WHERE id = 0 FOR UPDATE")
    else:
        holder = sqlite3.connect(str(path), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    try:
        with Ledger.open(path) as led:
            for write in (
                lambda: led.append("test", entry(1)),
                lambda: led.append_batch([("test", entry(2))]),
                lambda: led.checkpoint(LOG),
            ):
                with pytest.raises(ConflictError, match="busy"):
                    write()
            assert led.size == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Ledger.open(path) as led:
        assert led.append("test", entry(1)).index == 0
