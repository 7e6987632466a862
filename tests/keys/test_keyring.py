"""Keyring files on disk, and passphrase input."""

import os
import stat

import pytest

from keys import (
    InvalidSignatureError,
    Keyring,
    KeyStoreError,
    MalformedError,
    check_key_name,
    default_keyring_dir,
    read_passphrase,
)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _files(directory):
    return sorted(os.listdir(directory))


def test_create_writes_0600_private_and_public_files(tmp_path):
    ring = Keyring(tmp_path / "ring")
    key = ring.create("issuer")
    assert _files(ring.path) == ["issuer.key", "issuer.pub"]
    assert _mode(ring.path / "issuer.key") == 0o600
    assert _mode(ring.path) == 0o700
    assert (ring.path / "issuer.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert (ring.path / "issuer.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    loaded = ring.load("issuer")
    assert loaded.public_key == key.public_key == ring.public("issuer")
    sig = loaded.sign(b"m")
    ring.public("issuer").verify(sig, b"m")


def test_create_is_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        ring = Keyring(tmp_path)
        ring.create("k")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "k.key") == 0o600


def test_create_never_overwrites(tmp_path):
    ring = Keyring(tmp_path)
    first = ring.create("k")
    before = (tmp_path / "k.key").read_bytes()
    with pytest.raises(KeyStoreError, match="already exists"):
        ring.create("k")
    assert (tmp_path / "k.key").read_bytes() == before
    assert ring.load("k").public_key == first.public_key
    assert _files(tmp_path) == ["k.key", "k.pub"]  # no temporary file left behind


@pytest.mark.parametrize("bit", [0o040, 0o020, 0o010, 0o004, 0o002, 0o001])
def test_load_refuses_group_or_other_permissions(tmp_path, bit):
    ring = Keyring(tmp_path)
    ring.create("k")
    os.chmod(tmp_path / "k.key", 0o600 | bit)
    with pytest.raises(KeyStoreError, match="group or others") as e:
        ring.load("k")
    assert f"chmod 600 {tmp_path / 'k.key'}" in str(e.value)
    os.chmod(tmp_path / "k.key", 0o400)
    ring.load("k")  # owner read-only is fine


def test_load_refuses_a_symlink(tmp_path):
    ring = Keyring(tmp_path / "ring")
    ring.create("k")
    os.rename(ring.path / "k.key", tmp_path / "elsewhere.key")
    os.symlink(tmp_path / "elsewhere.key", ring.path / "k.key")
    with pytest.raises(KeyStoreError, match="symbolic link"):
        ring.load("k")


def test_encrypted_key_needs_its_passphrase(tmp_path):
    ring = Keyring(tmp_path)
    key = ring.create("k", b"correct horse")
    assert (tmp_path / "k.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(KeyStoreError, match="encrypted: a passphrase is required"):
        ring.load("k")
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        ring.load("k", b"wrong horse")
    assert ring.load("k", b"correct horse").public_key == key.public_key
    assert ring.public("k") == key.public_key  # no passphrase needed for the public half


def test_plain_key_with_a_passphrase_is_refused(tmp_path):
    ring = Keyring(tmp_path)
    ring.create("k")
    with pytest.raises(KeyStoreError, match="not encrypted"):
        ring.load("k", b"pw")


def test_empty_passphrase_refused(tmp_path):
    with pytest.raises(KeyStoreError, match="empty"):
        Keyring(tmp_path).create("k", b"")
    assert _files(tmp_path) == []


def test_public_file_must_match_private(tmp_path):
    ring = Keyring(tmp_path)
    ring.create("a")
    ring.create("b")
    os.replace(tmp_path / "b.pub", tmp_path / "a.pub")
    with pytest.raises(KeyStoreError, match="does not hold the public key"):
        ring.load("a")


def test_missing_key(tmp_path):
    ring = Keyring(tmp_path)
    for call in (ring.load, ring.public):
        with pytest.raises(KeyStoreError, match="no key named 'nope'"):
            call("nope")


def test_oversized_key_file_refused(tmp_path):
    ring = Keyring(tmp_path)
    ring.create("k")
    with open(tmp_path / "k.key", "ab") as f:
        f.write(b"x" * 20000)
    with pytest.raises(MalformedError, match="larger than"):
        ring.load("k")


def test_names_lists_private_keys_only(tmp_path):
    ring = Keyring(tmp_path / "ring")
    assert ring.names() == []  # absent directory: empty, not created
    assert not ring.path.exists()
    for n in ("zeta", "alpha", "m-1.2_x"):
        ring.create(n)
    (ring.path / "trust.json").write_text("{}")
    (ring.path / "orphan.pub").write_text("")
    (ring.path / ".k.key.1.0.tmp").write_text("")
    assert ring.names() == ["alpha", "m-1.2_x", "zeta"]


@pytest.mark.parametrize(
    "name", ["", ".hidden", "-x", "a/b", "../x", "a b", "a+b", "x" * 65, "é", "a\n", "k.key/"]
)
def test_bad_key_names_refused(tmp_path, name):
    ring = Keyring(tmp_path)
    with pytest.raises(MalformedError, match="key name"):
        ring.create(name)
    with pytest.raises(MalformedError, match="key name"):
        ring.load(name)
    assert _files(tmp_path) == []


def test_good_key_names():
    for name in ("a", "issuer-1.2_x", "X" * 64, "0log"):
        assert check_key_name(name) == name


def test_default_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("LIC_HOME", str(tmp_path / "lic"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_keyring_dir() == tmp_path / "lic"
    assert Keyring().path == tmp_path / "lic"
    monkeypatch.setenv("LIC_HOME", "")
    assert default_keyring_dir() == tmp_path / "xdg" / "lic-ledger"
    monkeypatch.delenv("LIC_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/not/allowed")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_keyring_dir() == tmp_path / "home" / ".config" / "lic-ledger"


def test_signature_from_another_key_refused(tmp_path):
    ring = Keyring(tmp_path)
    a, b = ring.create("a"), ring.create("b")
    with pytest.raises(InvalidSignatureError):
        ring.public("b").verify(a.sign(b"m"), b"m")
    b.public_key.verify(b.sign(b"m"), b"m")


# --- passphrases ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"pw\n", b"pw"),
        (b"pw\r\n", b"pw"),
        (b"pw", b"pw"),
        (b"pw\n\n", b"pw\n"),
        (b" p w ", b" p w "),
    ],
)
def test_passphrase_from_file(tmp_path, content, expect):
    f = tmp_path / "pass"
    f.write_bytes(content)
    assert read_passphrase(file=f) == expect


def test_passphrase_from_env(monkeypatch):
    monkeypatch.setenv("LIC_TEST_PASS", "s3cret")
    assert read_passphrase(env="LIC_TEST_PASS") == b"s3cret"
    monkeypatch.setenv("LIC_TEST_PASS", "")
    with pytest.raises(KeyStoreError, match="empty"):
        read_passphrase(env="LIC_TEST_PASS")
    monkeypatch.delenv("LIC_TEST_PASS")
    with pytest.raises(KeyStoreError, match=r"LIC_TEST_PASS .* is not set"):
        read_passphrase(env="LIC_TEST_PASS")


def test_passphrase_refusals(tmp_path):
    assert read_passphrase() is None
    empty = tmp_path / "empty"
    empty.write_bytes(b"\n")
    with pytest.raises(KeyStoreError, match="empty"):
        read_passphrase(file=empty)
    with pytest.raises(KeyStoreError, match="does not exist"):
        read_passphrase(file=tmp_path / "missing")
    with pytest.raises(KeyStoreError, match="not both"):
        read_passphrase(file=empty, env="X")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 5000)
    with pytest.raises(MalformedError, match="larger than"):
        read_passphrase(file=big)
