"""`lic ledger ...` through the lic_cli fixture: every command, its JSON, exit codes 0/1/2.
init, append, checkpoint, prove, show and consistency also on PostgreSQL (``env_at``)."""

import hashlib
import json

import pytest

from helpers.backends import gone
from keys import Keyring, SigningKey
from ledger.entries import decode_record, sign_entry
from ledger.store import Ledger
from ledger.tlog import verify_consistency
from lic import cbor


def _payload(i):
    """A typed entry the log key may append: registering a fresh issuer key."""
    key = SigningKey.from_seed(hashlib.sha256(b"cli-ledger %d" % i).digest())
    return cbor.encode({"at": 1, "key": key.public_key.raw, "role": "issuer", "name": f"k{i}"})


@pytest.fixture
def env(tmp_path, lic_cli):
    ring = tmp_path / "ring"
    for name in ("log", "alice"):
        lic_cli("keys", "new", name, "--keyring", ring)
    db = tmp_path / "l.db"
    return lic_cli, ring, db, tmp_path


@pytest.fixture
def env_at(env, ledger_at):
    """``env`` with the ledger on each backend (``ledger_at``: a file, a PostgreSQL URL)."""
    run, ring, _, tmp = env
    return run, ring, ledger_at("l"), tmp


def _setup(env, n=3):
    run, ring, db, tmp = env
    res = run("ledger", "init", "--origin", "example.com/log", "--key", "log", "--db", db,
        "--keyring", ring, "--json")  # fmt: skip
    info = json.loads(res.output)
    vkey = info["log_vkey"]
    assert vkey == Keyring(ring).public("log").verifier_key("example.com/log")
    for i in range(n):
        p = tmp / f"p{i}.txt"
        p.write_bytes(_payload(i))
        res = run("ledger", "append", "--type", "key.add", "--file", p, "--key", "log", "--db",
            db, "--keyring", ring, "--json")  # fmt: skip
        assert json.loads(res.output)["index"] == i
    return vkey


def test_init_append_checkpoint_prove_verify(env_at):
    run, ring, db, tmp = env_at
    vkey = _setup(env_at)
    res = run("ledger", "checkpoint", "--db", db, "--keyring", ring, "--json")
    cp = json.loads(res.output)
    assert cp["size"] == 3 and cp["origin"] == "example.com/log"
    assert cp["note"].startswith("example.com/log\n3\n")
    res = run("ledger", "checkpoint", "--db", db, "--keyring", ring)
    assert res.output.startswith("example.com/log\n3\n")

    proof = tmp / "r.tlog-proof"
    run("ledger", "prove", "--index", 1, "--out", proof, "--db", db)
    assert proof.read_bytes().startswith(b"c2sp.org/tlog-proof@v1\n")
    res = run("ledger", "prove", "--index", 1, "--db", db)
    assert res.output.encode() == proof.read_bytes()
    res = run("ledger", "verify-proof", proof, "--log-key", vkey, "--json")
    assert json.loads(res.output) == {
        "valid": True,
        "index": 1,
        "origin": "example.com/log",
        "size": 3,
        "root": cp["root"],
    }
    vfile = tmp / "log.vkey"
    vfile.write_text(vkey + "\n")
    run("ledger", "verify-proof", proof, "--log-key", vfile)

    # --entry: the record bytes or the COSE entry inside them, and nothing else
    rec = tmp / "rec1.bin"
    run("ledger", "show", "--index", 1, "--out", rec, "--db", db)
    run("ledger", "verify-proof", proof, "--log-key", vkey, "--entry", rec)
    entry = tmp / "entry1.cose"
    entry.write_bytes(decode_record(rec.read_bytes()).entry)
    run("ledger", "verify-proof", proof, "--log-key", vkey, "--entry", entry)
    other = tmp / "rec0.bin"
    run("ledger", "show", "--index", 0, "--out", other, "--db", db)
    run("ledger", "verify-proof", proof, "--log-key", vkey, "--entry", other, code=1)

    # tampering: a changed proof hash fails (1); a wrong log key fails (1); junk is bad input (2)
    text = proof.read_text().split("\n")
    text[3] = ("A" if text[3][0] != "A" else "B") + text[3][1:]
    bad = tmp / "bad.tlog-proof"
    bad.write_text("\n".join(text))
    run("ledger", "verify-proof", bad, "--log-key", vkey, code=1)
    alice_vkey = Keyring(ring).public("alice").verifier_key("example.com/log")
    run("ledger", "verify-proof", proof, "--log-key", alice_vkey, code=1)
    junk = tmp / "junk"
    junk.write_bytes(b"not a proof")
    run("ledger", "verify-proof", junk, "--log-key", vkey, code=2)
    run("ledger", "verify-proof", proof, "--log-key", "nonsense", code=2)

    # a record not yet covered by the latest checkpoint
    p = tmp / "p9.txt"
    p.write_bytes(_payload(9))
    run("ledger", "append", "--type", "key.add", "--file", p, "--key", "log", "--db", db,
        "--keyring", ring)  # fmt: skip
    res = run("ledger", "prove", "--index", 3, "--db", db, code=2)
    assert "checkpoint" in res.output
    run("ledger", "prove", "--index", 99, "--db", db, code=2)


def test_append_variants_and_bad_input(env):
    run, ring, db, tmp = env
    _setup(env, 1)
    p = tmp / "p0.txt"
    run("ledger", "append", "--type", "note", "--file", p, "--db", db, code=2)  # no key
    run("ledger", "append", "--type", "Bad Type", "--file", p, "--key", "alice", "--db", db,
        "--keyring", ring, code=2)  # fmt: skip
    run("ledger", "append", "--type", "note", "--file", p, "--signed", "--db", db, code=2)
    # typed checks: an unknown type, and an author the ledger does not know
    run("ledger", "append", "--type", "note", "--file", p, "--key", "log", "--db", db,
        "--keyring", ring, code=2)  # fmt: skip
    res = run("ledger", "append", "--type", "key.add", "--file", p, "--key", "alice", "--db", db,
        "--keyring", ring, code=1)  # fmt: skip
    assert "not known to the ledger" in res.output
    signed = tmp / "e.cose"
    signed.write_bytes(sign_entry("key.add", _payload(5), Keyring(ring).load("log")))
    res = run("ledger", "append", "--type", "key.add", "--file", signed, "--signed", "--db", db,
        "--json")  # fmt: skip
    assert json.loads(res.output)["index"] == 1
    run(
        "ledger", "append", "--type", "grant", "--file", signed, "--signed", "--db", db, code=2
    )  # typ differs from the type
    run("ledger", "append", "--type", "note", "--file", tmp / "missing", "--key", "alice",
        "--db", db, "--keyring", ring, code=2)  # fmt: skip
    res = run("ledger", "show", "--index", 1, "--db", db, "--json")
    shown = json.loads(res.output)
    assert shown["type"] == "key.add" and shown["payload_size"] == len(_payload(5))
    assert shown["author_kid"] == Keyring(ring).public("log").thumbprint
    run("ledger", "show", "--index", 2, "--db", db, code=2)
    res = run("ledger", "show", "--index", 0, "--db", tmp / "none.db", code=2)
    assert "lic ledger init" in res.output
    run("ledger", "init", "--origin", "example.com/log", "--key", "log", "--db", db, "--keyring",
        ring, code=2)  # fmt: skip  # exists
    run("ledger", "init", "--origin", "bad origin", "--key", "log", "--db", tmp / "x.db",
        "--keyring", ring, code=2)  # fmt: skip
    assert not (tmp / "x.db").exists()


def test_consistency(env_at):
    run, ring, db, _ = env_at
    _setup(env_at, 5)
    run("ledger", "checkpoint", "--db", db, "--keyring", ring)
    res = run("ledger", "consistency", "--from", 2, "--db", db, "--json")
    info = json.loads(res.output)
    assert (info["size1"], info["size2"]) == (2, 5)
    from keys import b64std_decode

    verify_consistency(
        2,
        5,
        [b64std_decode(h) for h in info["proof"]],
        b64std_decode(info["root1"]),
        b64std_decode(info["root2"]),
    )
    res = run("ledger", "consistency", "--from", 1, "--to", 4, "--db", db)
    assert res.output.startswith("from 1 ")
    run("ledger", "consistency", "--from", 5, "--to", 4, "--db", db, code=2)
    run("ledger", "consistency", "--from", 1, "--to", 9, "--db", db, code=2)
    run("ledger", "consistency", "--from", 0, "--db", db, code=2)


def test_export_import(env, ledger_at):
    """Export and import on this test's backend (``--db`` a file or a PostgreSQL URL); a
    refused import leaves nothing behind (no file, no table in the schema)."""
    run, ring, _, tmp = env
    db, copy, bad_db = ledger_at("l"), ledger_at("copy"), ledger_at("bad")
    _setup((run, ring, db, tmp), 4)
    run("ledger", "checkpoint", "--db", db, "--keyring", ring)
    out = tmp / "l.jsonl"
    res = run("ledger", "export", "--jsonl", out, "--db", db, "--json")
    assert json.loads(res.output)["records"] == 4
    res = run("ledger", "export", "--jsonl", "-", "--db", db)
    assert res.output == out.read_text()
    res = run("ledger", "import", out, "--db", copy, "--json")
    info = json.loads(res.output)
    assert info["records"] == 4 and info["checkpoint_size"] == 4
    assert run("ledger", "export", "--jsonl", "-", "--db", copy).output == out.read_text()
    lines = out.read_text().splitlines()
    rec = json.loads(lines[2])
    rec["index"] = 5
    lines[2] = json.dumps(rec)
    bad = tmp / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    run("ledger", "import", bad, "--db", bad_db, code=2)
    assert gone(bad_db)
    bad.write_bytes(b"\xff\xfe\n")
    run("ledger", "import", bad, "--db", bad_db, code=2)
    assert gone(bad_db)
    run("ledger", "import", out, "--db", copy, code=2)  # exists


def test_db_default_and_env(env, monkeypatch):
    run, ring, _, tmp = env
    monkeypatch.chdir(tmp)
    run("ledger", "init", "--origin", "example.com/log", "--key", "log", "--keyring", ring)
    assert (tmp / "ledger.db").exists()
    monkeypatch.setenv("LIC_LEDGER_DB", str(tmp / "env.db"))
    run("ledger", "init", "--origin", "example.com/log", "--key", "log", "--keyring", ring)
    assert (tmp / "env.db").exists()


def test_corrupt_store_is_an_error_not_a_traceback(env):
    run, _, db, tmp = env
    _setup(env, 50)
    data = bytearray(db.read_bytes())
    for i in range(4096, len(data), 7):  # trample every page after the first
        data[i] ^= 0x5A
    db.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        (tmp / f"l.db{suffix}").unlink(missing_ok=True)
    res = run("ledger", "show", "--index", 3, "--db", db, code=None)
    assert res.exit_code in (1, 2), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception


def test_import_checks_entry_signatures_and_authors(env, tmp_path, ledger_at):
    """The store's checks pass (encoding, chain, leaf hashes, checkpoints) but an entry's
    signature is bad or its author unknown: the import replays, refuses, leaves nothing (no
    file and no WAL beside it; no table in a PostgreSQL schema)."""
    from helpers.entry_examples import examples
    from keys import SigningKey
    from ledger.entries import make_entry

    log = SigningKey.from_seed(bytes(range(32)))
    stranger = SigningKey.from_seed(bytes(range(1, 33)))
    payload = examples()["key.add"]
    good = make_entry("key.add", payload, log)
    forged = bytearray(good)
    forged[-1] ^= 1  # the last signature byte
    cases = {
        "bad signature": [("key.add", good), ("key.add", bytes(forged))],
        "unknown author": [("key.add", make_entry("key.add", payload, stranger))],
    }
    for i, (why, entries) in enumerate(cases.items()):
        src = tmp_path / f"src{i}.db"
        with Ledger.create(src, "example.com/log", log) as led:
            for etype, entry in entries:  # the store's own append: no typed checks
                led.append(etype, entry, log_key=log)
            out = tmp_path / f"x{i}.jsonl"
            with open(out, "w", encoding="utf-8") as f:
                led.export_jsonl(f)
        target = ledger_at(f"copy{i}")
        res = env[0]("ledger", "import", out, "--db", target, code=1)
        assert "does not verify" in res.output and "record " in res.output, why
        assert gone(target), why
        assert not any(tmp_path.glob("copy*.db-wal")), why


def test_a_ledger_locked_by_another_writer_is_reported_as_busy(env, monkeypatch):
    """Another process holds the ledger's write lock past the wait: append and checkpoint
    say the ledger is busy (exit 1), with no traceback, and write nothing."""
    import sqlite3

    from ledger.store import _conn as _store

    run, ring, db, tmp = env
    _setup(env, 1)
    p = tmp / "p5.txt"
    p.write_bytes(_payload(5))
    monkeypatch.setattr(_store, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(str(db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for args in (
            ("append", "--type", "key.add", "--file", p, "--key", "log"),
            ("checkpoint",),
        ):
            res = run("ledger", *args, "--db", db, "--keyring", ring, code=1)
            assert "lic: error: busy:" in res.output
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Ledger.open(db) as led:
        assert led.size == 1
