"""lic keys / lic trust from the command line: behaviour, JSON output, and bad input -> exit 2."""

import base64
import json
import os
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from keys import Keyring, PublicKey, TrustStore

RFC8032_TEST1_PUB = bytes.fromhex(
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def run(lic_cli, home):
    return lic_cli.with_env(LIC_HOME=home)


def test_version(run):
    from importlib.metadata import version

    res = run("--version")
    assert res.output.strip() == f"lic, version {version('lic-ledger')}"


def test_new_list_show_export(run, home, tmp_path):
    res = run("keys", "new", "issuer", "--json")
    info = json.loads(res.output)
    assert info["name"] == "issuer" and info["encrypted"] is False
    assert stat.S_IMODE(os.stat(home / "issuer.key").st_mode) == 0o600
    run("keys", "new", "log")
    res = run("keys", "list", "--json")
    rows = json.loads(res.output)
    assert [r["name"] for r in rows] == ["issuer", "log"]
    pub = Keyring(home).public("issuer")
    assert rows[0]["kid"] == info["kid"] == pub.thumbprint
    assert run("keys", "list").output.splitlines()[0] == f"issuer\t{pub.thumbprint}"

    show = run("keys", "show", "issuer", "--json").json
    assert show["jwk"] == pub.jwk()
    assert show["verifier_key"] == pub.verifier_key("issuer")
    show = run("keys", "show", "log", "--note-name", "example.com/log", "--json").json
    assert PublicKey.from_verifier_key(show["verifier_key"])[0] == "example.com/log"
    assert (
        show["note_key_hash"] == Keyring(home).public("log").note_key_hash("example.com/log").hex()
    )
    assert pub.thumbprint in run("keys", "show", "issuer").output

    assert json.loads(run("keys", "export", "issuer", "--format", "jwk").output) == pub.jwk()
    assert run("keys", "export", "issuer", "--format", "pem").output.encode() == pub.pem()
    assert (
        run("keys", "export", "issuer", "--format", "vkey").output
        == pub.verifier_key("issuer") + "\n"
    )
    assert run("keys", "export", "issuer", "--format", "raw").output == pub.raw.hex() + "\n"
    out = tmp_path / "issuer.raw"
    run("keys", "export", "issuer", "--format", "raw", "--output", str(out))
    assert out.read_bytes() == pub.raw
    res = run("keys", "export", "issuer", "--format", "raw", "--output", str(out), code=None)
    assert res.exit_code == 2 and "already exists" in res.output
    exported = run("keys", "export", "issuer", "--format", "vkey", "--json").json
    assert exported["key"] == pub.verifier_key("issuer")


def test_new_refuses_to_overwrite(run, home):
    run("keys", "new", "k")
    before = (home / "k.key").read_bytes()
    res = run("keys", "new", "k", code=None)
    assert res.exit_code == 2 and "already exists" in res.output
    assert (home / "k.key").read_bytes() == before


def test_encrypted_key_from_passphrase_file_and_env(run, home, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("hunter2\n")
    run("keys", "new", "k", "--passphrase-file", str(pw))
    assert (home / "k.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED")
    res = run("keys", "check", "k", code=None)
    assert res.exit_code == 2
    assert "encrypted: a passphrase is required" in res.output
    res = run("keys", "check", "k", "--passphrase-env", "PW", env={"PW": "wrong"}, code=None)
    assert res.exit_code == 2 and "wrong passphrase" in res.output
    run("keys", "check", "k", "--passphrase-env", "PW", env={"PW": "hunter2"})
    run("keys", "check", "k", "--passphrase-file", str(pw))
    run("keys", "show", "k")  # the public half needs no passphrase
    res = run("keys", "new", "k2", "--passphrase-env", "UNSET_VAR_FOR_TEST", code=None)
    assert res.exit_code == 2 and "is not set" in res.output
    assert not (home / "k2.key").exists()


def test_no_passphrase_option_on_the_command_line(run):
    res = run("keys", "new", "k", "--passphrase", "x", code=None)
    assert res.exit_code == 2 and "No such option" in res.output


def test_group_readable_key_refused(run, home):
    run("keys", "new", "k")
    os.chmod(home / "k.key", 0o644)
    res = run("keys", "check", "k", code=None)
    assert res.exit_code == 2
    assert "readable or writable by group or others" in res.output
    assert "chmod 600" in res.output


def test_trust_add_list_remove(run, home, tmp_path):
    run("keys", "new", "issuer")
    pem = tmp_path / "issuer.pem"
    pem.write_text(run("keys", "export", "issuer", "--format", "pem").output)
    res = run(
        "trust", "add", str(pem), "--role", "issuer", "--name", "acme",
        "--not-before", "2026-01-01T00:00:00Z", "--not-after", "1798761600", "--json",
    )  # fmt: skip
    entry = json.loads(res.output)
    assert entry["not_before"] == 1767225600 and entry["not_after"] == 1798761600
    store = TrustStore.load(home / "trust.json")
    kid = Keyring(home).public("issuer").thumbprint
    assert store.lookup(kid, "issuer", 1767225600) == Keyring(home).public("issuer")

    raw = tmp_path / "log.raw"
    raw.write_bytes(RFC8032_TEST1_PUB)
    run("trust", "add", str(raw), "--role", "log", "--name", "example.com/log")
    rows = run("trust", "list", "--json").json
    assert [(r["name"], r["role"]) for r in rows] == [
        ("acme", "issuer"),
        ("example.com/log", "log"),
    ]
    assert run("trust", "list", "--role", "log", "--json").json == rows[1:]
    assert "acme\tissuer\t" in run("trust", "list").output

    res = run("trust", "add", str(raw), "--role", "log", "--name", "again", code=None)
    assert res.exit_code == 2 and "already trusted as log" in res.output
    run("trust", "remove", kid)
    rows = run("trust", "list", "--json").json
    assert [r["name"] for r in rows] == ["example.com/log"]
    run("trust", "remove", "example.com/log")
    assert run("trust", "list", "--json").json == []
    res = run("trust", "remove", "example.com/log", code=None)
    assert res.exit_code == 2 and "no entry" in res.output


def test_trust_file_option(run, tmp_path):
    raw = tmp_path / "k.raw"
    raw.write_bytes(RFC8032_TEST1_PUB)
    tf = tmp_path / "elsewhere" / "t.json"
    run("trust", "--help")
    run("trust", "add", str(raw), "--role", "witness", "--name", "w", "--trust", str(tf))
    assert len(TrustStore.load(tf)) == 1
    res = run("trust", "list", "--trust", str(tmp_path / "missing.json"), code=None)
    assert res.exit_code == 2 and "does not exist" in res.output


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--role", "admin", "--name", "x"], "'--role'"),
        (["--role", "log", "--name", "a b"], "name"),
        (["--role", "log", "--name", "x", "--not-before", "yesterday"], "--not-before"),
        (["--role", "log", "--name", "x", "--not-before", "9", "--not-after", "9"], "earlier"),
        (["--role", "log"], "--name"),
    ],
)
def test_trust_add_bad_options(run, tmp_path, args, why):
    raw = tmp_path / "k.raw"
    raw.write_bytes(RFC8032_TEST1_PUB)
    res = run("trust", "add", str(raw), *args, code=None)
    assert res.exit_code == 2
    assert why in res.output


# --- malformed key files: a clear message, exit code 2, never a traceback --------------------
def _pem_private(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_public(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def foreign_keys():
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "p256": ec.generate_private_key(ec.SECP256R1()),
    }


GOOD_X = base64.urlsafe_b64encode(RFC8032_TEST1_PUB).rstrip(b"=").decode()


def _public_inputs(foreign_keys):
    ed_pem = PublicKey.from_raw(RFC8032_TEST1_PUB).pem()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": GOOD_X}
    return [
        ("empty", b"", "empty input"),
        ("whitespace", b" \n", "empty input"),
        ("truncated PEM", ed_pem[: len(ed_pem) // 2], "PUBLIC KEY"),
        ("PEM body cut", ed_pem.replace(b"MCowBQYDK2Vw", b"MCow"), "PEM"),
        ("RSA public", _pem_public(foreign_keys["rsa"]), "only Ed25519"),
        ("P-256 public", _pem_public(foreign_keys["p256"]), "only Ed25519"),
        ("RSA private", _pem_private(foreign_keys["rsa"]), "private key"),
        ("P-256 private", _pem_private(foreign_keys["p256"]), "private key"),
        ("31 bytes", RFC8032_TEST1_PUB[:31], "not a PEM public key"),
        ("33 bytes", RFC8032_TEST1_PUB + b"\x00", "not a PEM public key"),
        ("JWK extra member", json.dumps(jwk | {"d": GOOD_X}).encode(), "unexpected members"),
        ("JWK extra use", json.dumps(jwk | {"use": "sig"}).encode(), "unexpected members"),
        # exactly 32 bytes of text: must not be taken for a raw key
        ("JWK missing x", json.dumps({"kty": "OKP", "crv": "Ed25519"}).encode(), "missing"),
        ("JWK missing kty", json.dumps({"crv": "Ed25519", "x": GOOD_X}).encode(), "missing"),
        ("JWK missing crv", json.dumps({"kty": "OKP", "x": GOOD_X}).encode(), "missing"),
        ("JWK x number", json.dumps(jwk | {"x": 5}).encode(), "must be a string"),
        ("JWK crv list", json.dumps(jwk | {"crv": ["Ed25519"]}).encode(), "must be a string"),
        ("JWK kty null", json.dumps(jwk | {"kty": None}).encode(), "must be a string"),
        ("JWK kty RSA", json.dumps(jwk | {"kty": "RSA"}).encode(), "only kty OKP"),
        ("JWK crv X25519", json.dumps(jwk | {"crv": "X25519"}).encode(), "only kty OKP"),
        ("JWK x padded", json.dumps(jwk | {"x": GOOD_X + "="}).encode(), "base64url"),
        ("JWK x short", json.dumps(jwk | {"x": GOOD_X[:-4]}).encode(), "32 bytes"),
        ("JWK kid wrong", json.dumps(jwk | {"kid": "abc"}).encode(), "thumbprint"),
        (
            "JWK duplicate",
            b'{"kty":"OKP","kty":"OKP","crv":"Ed25519","x":"' + GOOD_X.encode() + b'"}',
            "duplicate",
        ),
        ("JWK array", b"[1]", "not a PEM public key"),
        ("JWK truncated", json.dumps(jwk).encode()[:-5], "not valid JSON"),
        ("too large", b"{" + b" " * 5000 + b"}", "larger than"),
        ("binary", os.urandom(8) + b"\xff", "not a PEM public key"),
    ]


def test_malformed_public_key_files(run, tmp_path, foreign_keys):
    for i, (what, data, why) in enumerate(_public_inputs(foreign_keys)):
        f = tmp_path / f"in{i}"
        f.write_bytes(data)
        res = run("trust", "add", str(f), "--role", "issuer", "--name", f"n{i}", code=None)
        assert res.exit_code == 2, (what, res.output)
        assert res.output.startswith("lic: error: "), (what, res.output)
        assert why in res.output, (what, res.output)


def test_malformed_private_key_files(run, home, foreign_keys):
    run("keys", "new", "good")
    good = (home / "good.key").read_bytes()
    cases = [
        ("empty", b"", "not a valid PKCS#8 PEM"),
        ("truncated PEM", good[: len(good) // 2], "not a valid PKCS#8 PEM"),
        ("RSA", _pem_private(foreign_keys["rsa"]), "only Ed25519"),
        ("P-256", _pem_private(foreign_keys["p256"]), "only Ed25519"),
        ("public PEM", (home / "good.pub").read_bytes(), "not a valid PKCS#8 PEM"),
        ("JWK", json.dumps({"kty": "OKP", "crv": "Ed25519", "x": GOOD_X}).encode(), "PKCS#8"),
        ("garbage", b"\x00\xff" * 100, "PKCS#8"),
    ]
    for what, data, why in cases:
        path = home / "good.key"
        path.write_bytes(data)
        os.chmod(path, 0o600)
        res = run("keys", "check", "good", code=None)
        assert res.exit_code == 2, (what, res.output)
        assert res.output.startswith(f"lic: error: {path}: "), (what, res.output)
        assert why in res.output, (what, res.output)


def test_malformed_public_file_in_keyring(run, home):
    run("keys", "new", "k")
    (home / "k.pub").write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n")
    for args in (
        ["keys", "show", "k"],
        ["keys", "list"],
        ["keys", "export", "k", "--format", "jwk"],
    ):
        res = run(*args, code=None)
        assert res.exit_code == 2 and "k.pub" in res.output, res.output


def test_malformed_trust_file(run, home, tmp_path):
    home.mkdir()
    (home / "trust.json").write_text('{"format": "lic-ledger trust store v1", "keys": [{}]}')
    res = run("trust", "list", code=None)
    assert res.exit_code == 2 and "missing member" in res.output
    raw = tmp_path / "k.raw"
    raw.write_bytes(RFC8032_TEST1_PUB)
    res = run("trust", "add", str(raw), "--role", "log", "--name", "l", code=None)
    assert res.exit_code == 2
    assert (home / "trust.json").read_text().endswith("[{}]}")  # left as it was


def test_real_process_prints_no_traceback(tmp_path):
    # Once through the installed entry point, not CliRunner: stderr has the message, exit 2.
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "trust",
            "add",
            str(bad),
            "--role",
            "log",
            "--name",
            "x",
        ],
        capture_output=True,
        text=True,
        env=os.environ | {"LIC_HOME": str(tmp_path / "home")},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("lic: error: ")
