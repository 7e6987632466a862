"""`lic witness` (init, cosign, show, split-view, evidence), the log storing an offline
cosignature, and `lic trust add` taking a witness vkey that a policy then verifies with."""

import hashlib
import json

import pytest

from helpers.witnesses import (
    LOG,
    ORIGIN,
    WITNESS_KEYS,
    WITNESS_NAMES,
    Log,
    new_witness,
    witness_verifier,
)
from keys import (
    MalformedError,
    b64std_decode,
    b64std_encode,
)
from ledger.store import Ledger
from ledger.tlog import (
    CosignatureV1Verifier,
    verify_cosignature,
)

NOW = 1_750_000_000


def init_cli_witness(run, tmp_path):
    """A key 'w1' in a fresh keyring and 'lic witness init' for the test log: (keyring, witness
    state file, init's JSON output)."""
    ring = tmp_path / "ring"
    run("keys", "new", "w1", "--keyring", ring)
    db = tmp_path / "w.db"
    res = run("witness", "init", "--key", "w1", "--name", "witness.example/w1",
              "--log", f"{ORIGIN}={LOG.vkey}", "--db", db, "--keyring", ring, "--json")  # fmt: skip
    return ring, db, json.loads(res.output)


def test_cli_init_cosign_show(tmp_path, lic_cli):
    run = lic_cli
    ring, db, info = init_cli_witness(run, tmp_path)
    log = Log(tmp_path / "l.db")
    wv = CosignatureV1Verifier.from_vkey(info["vkey"])
    assert info["logs"] == [ORIGIN] and wv.name == "witness.example/w1"
    cp3 = log.grow(3)
    (tmp_path / "cp3").write_bytes(cp3.note)
    res = run("witness", "cosign", tmp_path / "cp3", "--old", 0, "--db", db, "--keyring", ring)
    verify_cosignature(cp3.note + res.output.encode(), wv)
    run(
        "witness",
        "cosign",
        tmp_path / "cp3",
        "--old",
        0,
        "--db",
        db,
        "--keyring",
        ring,
        code=1,
    )
    cp6 = log.grow(3)
    (tmp_path / "cp6").write_bytes(cp6.note)
    (tmp_path / "proof").write_text("".join(b64std_encode(h) + "\n" for h in log.proof(3, 6)))
    (tmp_path / "badproof").write_text(b64std_encode(bytes(32)) + "\n")
    run(
        "witness",
        "cosign",
        tmp_path / "cp6",
        "--old",
        3,
        "--proof",
        tmp_path / "badproof",
        "--db",
        db,
        "--keyring",
        ring,
        code=1,
    )
    res = run(
        "witness",
        "cosign",
        tmp_path / "cp6",
        "--old",
        3,
        "--proof",
        tmp_path / "proof",
        "--db",
        db,
        "--keyring",
        ring,
        "--json",
    )
    assert json.loads(res.output)["status"] == 200
    (tmp_path / "junk").write_bytes(b"junk")
    run(
        "witness",
        "cosign",
        tmp_path / "junk",
        "--old",
        6,
        "--db",
        db,
        "--keyring",
        ring,
        code=2,
    )
    res = run("witness", "show", "--db", db, "--json")
    shown = json.loads(res.output)
    assert shown["logs"][0]["size"] == 6 and shown["logs"][0]["cosigned"] == 2
    assert [e["kind"] for e in shown["evidence"]] == ["bad-consistency-proof"]
    run(
        "witness",
        "init",
        "--key",
        "w1",
        "--log",
        "wrong.example/log=" + LOG.vkey,
        "--db",
        tmp_path / "w2.db",
        "--keyring",
        ring,
        code=2,
    )
    log.led.close()


def test_cli_split_view_prints_the_proof(tmp_path, lic_cli):
    run = lic_cli
    log, fork = Log(tmp_path / "a.db"), Log(tmp_path / "b.db", salt=b"fork")
    a, b = log.grow(3), fork.grow(3)
    (tmp_path / "n1").write_bytes(a.note)
    (tmp_path / "n2").write_bytes(b.note)
    res = run(
        "witness",
        "split-view",
        tmp_path / "n1",
        tmp_path / "n2",
        "--log-key",
        LOG.vkey,
        code=1,
    )
    assert "verdict: split" in res.output
    assert a.note.decode().rstrip() in res.output and b.note.decode().rstrip() in res.output
    res = run(
        "witness",
        "split-view",
        tmp_path / "n1",
        tmp_path / "n2",
        "--log-key",
        LOG.vkey,
        "--json",
        code=1,
    )
    assert json.loads(res.stdout)["verdict"] == "split"
    c = log.grow(2)
    (tmp_path / "n3").write_bytes(c.note)
    run("witness", "split-view", tmp_path / "n1", tmp_path / "n1", "--log-key", LOG.vkey)
    run(
        "witness",
        "split-view",
        tmp_path / "n1",
        tmp_path / "n3",
        "--log-key",
        LOG.vkey,
        code=3,
    )
    (tmp_path / "p").write_text("".join(b64std_encode(h) + "\n" for h in log.proof(3, 5)))
    run(
        "witness",
        "split-view",
        tmp_path / "n3",
        tmp_path / "n1",
        "--log-key",
        LOG.vkey,
        "--proof",
        tmp_path / "p",
    )
    (tmp_path / "n4").write_bytes(b.note.replace(b"\n3\n", b"\n4\n", 1))
    run(
        "witness",
        "split-view",
        tmp_path / "n1",
        tmp_path / "n4",
        "--log-key",
        LOG.vkey,
        code=1,
    )
    log.led.close()
    fork.led.close()


def test_cli_evidence_prints_the_split_view_the_witness_refused(tmp_path, lic_cli):
    run = lic_cli
    log, fork = Log(tmp_path / "a.db"), Log(tmp_path / "b.db", salt=b"fork")
    w = new_witness(tmp_path / "w.db")
    a, b = log.grow(4), fork.grow(4)
    assert w.add_checkpoint(0, [], a.note, NOW).status == 200
    res = run("witness", "evidence", "--db", tmp_path / "w.db")
    assert res.output.strip() == "no evidence"
    assert w.add_checkpoint(4, [], b.note, NOW).split_view
    res = run("witness", "evidence", "--db", tmp_path / "w.db", code=1)
    assert "verdict: split" in res.output
    assert a.note.decode().rstrip() in res.output and b.note.decode().rstrip() in res.output
    res = run("witness", "evidence", "--db", tmp_path / "w.db", "--json", code=1)
    (item,) = json.loads(res.stdout)
    assert item["verdict"] == "split" and item["notes"] == [a.note.decode(), b.note.decode()]
    # the printed notes, handed to a third party, prove the split with the log key alone
    (tmp_path / "n1").write_text(item["notes"][0])
    (tmp_path / "n2").write_text(item["notes"][1])
    run(
        "witness",
        "split-view",
        tmp_path / "n1",
        tmp_path / "n2",
        "--log-key",
        LOG.vkey,
        code=1,
    )
    w.close()
    log.led.close()
    fork.led.close()


def test_cli_stores_an_offline_cosignature_with_its_checkpoint(tmp_path, lic_cli, ledger_at):
    """`lic ledger add-cosignature --db` into a log on this test's backend (a file or a
    PostgreSQL URL); the witness's own store is a file."""
    run = lic_cli
    ring, wdb, info = init_cli_witness(run, tmp_path)
    vkey = info["vkey"]
    db = ledger_at("l")
    log = Log(db)
    cp3 = log.grow(3)
    log.led.close()
    (tmp_path / "cp3").write_bytes(cp3.note)
    res = run("witness", "cosign", tmp_path / "cp3", "--old", 0, "--db", wdb, "--keyring", ring)
    (tmp_path / "line").write_text(res.output)

    def add(lines_file, key, *more, code=0):
        return run("ledger", "add-cosignature", lines_file, "--witness-key", key,
                   "--db", db, *more, code=code)  # fmt: skip

    other = CosignatureV1Verifier("witness.example/w9", WITNESS_KEYS[0].public_key).vkey
    res = add(tmp_path / "line", other, "--json", code=1)
    assert "witness.example/w1" in res.output  # the line not by a given key is named
    (tmp_path / "junk").write_text("not a signature line\n")
    add(tmp_path / "junk", vkey, code=2)
    # no checkpoint at size 2
    add(tmp_path / "line", vkey, "--size", 2, code=2)
    line = (tmp_path / "line").read_text()
    name, sig = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(b64std_decode(sig))
    raw[-1] ^= 1  # by the given key, but not a valid signature over this checkpoint
    (tmp_path / "forged").write_text(f"{name} {b64std_encode(bytes(raw))}\n")
    add(tmp_path / "forged", vkey, code=1)
    with Ledger.open(db) as led:
        assert led.cosignatures(3) == []  # the refusals stored nothing

    (tmp_path / "vkey").write_text(vkey + "\n")
    res = add(tmp_path / "line", tmp_path / "vkey", "--json")
    out = json.loads(res.output)
    assert out["stored"] == 1 and out["cosigners"] == ["witness.example/w1"]
    assert out["note"] == cp3.note.decode() + (tmp_path / "line").read_text()
    wv = CosignatureV1Verifier.from_vkey(vkey)
    verify_cosignature(out["note"].encode(), wv)
    with Ledger.open(db) as led:
        assert led.cosignatures(3) == [(tmp_path / "line").read_text()]


def test_trust_add_takes_a_witness_vkey_and_a_policy_verifies_with_it(tmp_path, lic_cli):
    """'lic trust add --role witness' accepts the vkey 'lic witness init' prints (type 0x04);
    a note key (0x01) still cannot be given one, nor a 0x04 key its 0x01 hash."""
    from keys import PublicKey, TrustStore

    v = witness_verifier(1)
    (tmp_path / "w.vkey").write_text(v.vkey + "\n")
    trust_file = tmp_path / "trust.json"
    lic_cli("trust", "add", tmp_path / "w.vkey", "--role", "witness",
        "--name", WITNESS_NAMES[1], "--trust", trust_file)  # fmt: skip
    (entry,) = TrustStore.load(trust_file).by_role("witness")
    assert entry.public_key == WITNESS_KEYS[1].public_key
    assert CosignatureV1Verifier(entry.name, entry.public_key).vkey == v.vkey
    with pytest.raises(MalformedError):
        PublicKey.from_verifier_key(v.vkey)  # without cosignature=True: note keys only
    name, _hash, b64 = v.vkey.split("+", 2)
    wrong = hashlib.sha256(name.encode() + b"\n\x01" + entry.public_key.raw).digest()[:4].hex()
    with pytest.raises(MalformedError, match="key hash"):
        PublicKey.from_verifier_key(f"{name}+{wrong}+{b64}", cosignature=True)
    assert PublicKey.from_verifier_key(v.vkey, cosignature=True) == (name, entry.public_key)
