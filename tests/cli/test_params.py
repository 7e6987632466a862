"""The inputs every command shares: one time grammar, one verifier-key reader, one atomic
writer. Each is checked on its own and through a command that uses it."""

import os
import re
import stat
from datetime import UTC, datetime

import click
import pytest

from cli._params import TIME, read_vkey
from helpers.paths import ROOT
from keys import KeyStoreError, SigningKey, open_atomic, write_atomic

JAN1 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    "text, want",
    [
        ("1767225600", JAN1),
        (" 1767225600 ", JAN1),
        ("0", 0),
        ("2026-01-01T00:00:00Z", JAN1),
        ("2026-01-01T01:00:00+01:00", JAN1),
        ("2026-01-01T00:00:00.000Z", JAN1),
        ("2026-1-1T0:0:0Z", JAN1),  # strptime's reading, which lic keys/token took
    ],
)
def test_time_accepts_epoch_seconds_and_rfc3339(text, want):
    assert TIME.convert(text, None, None) == want


def test_time_now_is_the_clock():
    before = int(datetime.now(UTC).timestamp())
    assert before <= TIME.convert("now", None, None) <= before + 5


@pytest.mark.parametrize(
    "text, message",
    [
        ("yesterday", "neither seconds since the epoch nor ISO 8601"),
        ("-5", "neither seconds since the epoch nor ISO 8601"),
        ("\u0661\u0662", "neither seconds since the epoch nor ISO 8601"),  # non-ASCII digits
        ("9" * 5000, "neither seconds since the epoch nor ISO 8601"),
        ("2026-01-01T00:00:00", "has no time zone (add Z for UTC)"),
        ("2026-01-01", "has no time zone (add Z for UTC)"),
    ],
)
def test_time_refusals_say_why(text, message):
    with pytest.raises(click.BadParameter, match=re.escape(message)):
        TIME.convert(text, None, None)


def test_every_time_option_takes_the_one_grammar(tmp_path, monkeypatch, lic_cli):
    """lic trust add (once epoch or strict Z only) now takes an offset, as the ledger did."""
    monkeypatch.chdir(tmp_path)
    run = lic_cli.with_env(LIC_HOME=tmp_path / "keys")
    assert run("keys", "new", "w", code=None).exit_code == 0
    res = run("keys", "export", "w", "--format", "pem", "-o", "w.pem", code=None)
    assert res.exit_code == 0, res.output
    res = run(
        "trust", "add", "w.pem", "--role", "witness", "--name", "w", "--json",
        "--not-before", "2026-01-01T01:00:00+01:00", "--not-after", "now", code=None,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f'"not_before": {JAN1}' in res.output
    res = run(
        "trust", "add", "w.pem", "--role", "witness", "--name", "w2", "--not-before", "soon",
        code=None,
    )  # fmt: skip
    assert res.exit_code == 2 and "'soon' is neither seconds since the epoch" in res.output
    res = run("token", "verify", "x.jwt", "--at", "2026-01-01T00:00:00", code=None)
    assert res.exit_code == 2 and "has no time zone" in res.output


def test_vkey_inline_or_file(tmp_path):
    vkey = SigningKey.generate().public_key.verifier_key("example.com/log")
    assert read_vkey(vkey) == vkey
    f = tmp_path / "log.vkey"
    f.write_text(vkey + "\n")
    assert read_vkey(str(f)) == vkey
    plus = tmp_path / "a+b"  # a file whose name has a '+' is still a file
    plus.write_text(vkey)
    assert read_vkey(str(plus)) == vkey


def test_a_missing_vkey_file_is_reported_as_missing(tmp_path, lic_cli):
    with pytest.raises(KeyStoreError, match=r"log key file .*nope\.vkey does not exist"):
        read_vkey(str(tmp_path / "nope.vkey"), "log key")
    proof = tmp_path / "proof"
    proof.write_text("x")
    res = lic_cli("ledger", "verify-proof", proof, "--log-key", tmp_path / "nope.vkey", code=None)
    assert res.exit_code == 2
    assert "nope.vkey does not exist" in res.output and "malformed" not in res.output


def test_atomic_write_refuses_to_clobber_and_sets_the_mode(tmp_path):
    path = tmp_path / "out.bin"
    write_atomic(path, b"one", mode=0o640, overwrite=False)
    assert path.read_bytes() == b"one" and stat.S_IMODE(path.stat().st_mode) == 0o640
    with pytest.raises(KeyStoreError, match="already exists"):
        write_atomic(path, b"two", mode=0o640, overwrite=False)
    write_atomic(path, b"three", mode=0o644, overwrite=True)
    assert path.read_bytes() == b"three"
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]  # no temporary file left


def test_open_atomic_leaves_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"old\n")
    with pytest.raises(RuntimeError), open_atomic(path, mode=0o644, overwrite=True) as f:
        f.write(b"half of the new")
        raise RuntimeError("the writer failed")
    assert path.read_bytes() == b"old\n"
    assert sorted(os.listdir(tmp_path)) == ["export.jsonl"]
    with open_atomic(path, mode=0o644, overwrite=True) as f:
        f.write(b"new\n")
    assert path.read_bytes() == b"new\n"


def test_every_public_key_file_is_read_alike(tmp_path, monkeypatch, lic_cli):
    """lic trust add, lic token issue --holder and lic ledger key add read a key file the same
    way: a missing file is reported as missing, a malformed one names the file."""
    monkeypatch.chdir(tmp_path)
    run = lic_cli.with_env(LIC_HOME=tmp_path / "keys")
    (tmp_path / "junk.pem").write_bytes(b"not a key")
    (tmp_path / "l.toml").write_bytes((ROOT / "examples" / "academic-research.toml").read_bytes())
    assert run("keys", "new", "log", code=None).exit_code == 0
    assert run("keys", "new", "i", code=None).exit_code == 0
    res = run("ledger", "init", "--origin", "o", "--key", "log", code=None)
    assert res.exit_code == 0, res.output
    for missing, junk in [
        (["trust", "add", "nope.pem", "--role", "issuer", "--name", "i"],
         ["trust", "add", "junk.pem", "--role", "issuer", "--name", "i"]),
        (["token", "issue", "--key", "i", "--holder", "nope.pem", "--license", "l.toml"],
         ["token", "issue", "--key", "i", "--holder", "junk.pem", "--license", "l.toml"]),
        (["ledger", "key", "add", "nope.pem", "--role", "issuer", "--name", "i"],
         ["ledger", "key", "add", "junk.pem", "--role", "issuer", "--name", "i"]),
    ]:  # fmt: skip
        res = run(*missing, code=None)
        assert res.exit_code == 2 and "public key file nope.pem does not exist" in res.output
        res = run(*junk, code=None)
        assert res.exit_code == 2 and "junk.pem: " in res.output, res.output
