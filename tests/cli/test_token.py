"""lic token ... from the command line: issue, inspect, verify, check, delegate, present."""

import json
from pathlib import Path

import pytest

import lic
from helpers.paths import ROOT

COMMERCIAL = ROOT / "examples" / "commercial-geofenced.toml"
DIGEST = lic.load_license(COMMERCIAL.read_bytes()).model.sha256
FULL_USE = ["--action", "run.inference", "--purpose", "enterprise.product", "--region", "DE",
            "--channel", "api.public", "--platform", "search", "--no-data", "--rate", "100/PT1M",
            "--mau", "5000", "--model-digest", DIGEST]  # fmt: skip


@pytest.fixture
def env(tmp_path, monkeypatch, lic_cli):
    """A keyring with issuer, holder and contractor keys; the issuer trusted as issuer."""
    monkeypatch.chdir(tmp_path)
    run = lic_cli.with_env(LIC_HOME=tmp_path / "home")

    for name in ("issuer", "holder", "contractor"):
        run("keys", "new", name)
        run("keys", "export", name, "--format", "pem", "-o", f"{name}.pub")
    run("trust", "add", "issuer.pub", "--role", "issuer", "--name", "acme-issuer")
    run("token", "issue", "--key", "issuer", "--holder", "holder.pub", "--license", COMMERCIAL,
        "-o", "t.jwt")  # fmt: skip
    return run


def test_issue_verify_and_check(env):
    res = env("token", "verify", "t.jwt")
    assert res.output.startswith("VALID")
    res = env("token", "verify", "t.jwt", "--json")
    doc = json.loads(res.output)
    assert doc["valid"] is True and doc["chain"][0]["lic"]["tier"] == "enterprise"
    assert doc["chain"][0]["digest"] == lic.token_digest(Path("t.jwt").read_bytes()).hex()
    res = env("token", "check", "t.jwt", *FULL_USE)
    assert (
        res.output.startswith("PERMIT")
        and "duty          report-incidents within=P3D" in res.output
    )


def test_check_exit_codes_and_json(env):
    res = env("token", "check", "t.jwt", *FULL_USE[:-2], code=3)
    assert res.output.startswith("INDETERMINATE") and "model" in res.output
    res = env("token", "check", "t.jwt", *FULL_USE, "--region", "US", code=1)
    assert res.output.startswith("DENY") and "region is not permitted" in res.output
    res = env("token", "check", "t.jwt", *FULL_USE, "--region", "US", "--json", code=1)
    doc = json.loads(res.output)
    assert doc["effect"] == "deny" and doc["reasons"][0]["field"] == "region"
    assert doc["reasons"][0]["actual"] == "US" and doc["duties"] == []
    res = env("token", "check", "t.jwt", *FULL_USE, "--json")
    assert json.loads(res.output)["effect"] == "permit"


def test_cwt_issue_and_verify(env):
    env("token", "issue", "--key", "issuer", "--holder", "holder.pub", "--license", COMMERCIAL,
        "--format", "cwt", "-o", "t.cwt")  # fmt: skip
    assert Path("t.cwt").read_bytes()[:1] == b"\xd2"
    assert env("token", "check", "t.cwt", *FULL_USE).output.startswith("PERMIT")
    res = env("token", "issue", "--key", "issuer", "--holder", "holder.pub", "--license",
              COMMERCIAL, "--format", "cwt", "--json")  # fmt: skip
    assert json.loads(res.output)["format"] == "cwt"


def test_inspect_says_unverified(env):
    res = env("token", "inspect", "t.jwt")
    assert res.stdout.startswith("UNVERIFIED") and "UNVERIFIED" in res.stderr
    doc = json.loads(env("token", "inspect", "t.jwt", "--json").stdout)
    assert doc["verified"] is False and doc["sub"].startswith("urn:ietf:params:oauth:jwk")


def test_invalid_and_malformed_tokens(env):
    data = bytearray(Path("t.jwt").read_bytes())
    data[-3] = ord("A") if data[-3] != ord("A") else ord("B")
    Path("bad.jwt").write_bytes(bytes(data))
    res = env("token", "verify", "bad.jwt", code=1)
    assert "invalid signature" in res.output
    Path("junk.jwt").write_text("not a token")
    env("token", "verify", "junk.jwt", code=2)
    env("token", "inspect", "junk.jwt", code=2)
    env("token", "verify", "missing.jwt", code=2)
    env("token", "verify", "t.jwt", "--at", "2000-01-01T00:00:00Z", code=1)  # not yet valid
    env("token", "verify", "t.jwt", "--at", "yesterday", code=2)
    env("token", "check", "t.jwt", "--region", "Germany", code=2)
    env("token", "check", "t.jwt", "--rate", "lots", code=2)
    env("token", "check", "t.jwt", "--data", "public-web", "--no-data", code=2)
    Path("big.jwt").write_bytes(b"e" * (lic.MAX_TOKEN_SIZE + 100))
    env("token", "verify", "big.jwt", code=2)


def test_issue_refuses_unknown_codes(env, tmp_path):
    text = COMMERCIAL.read_text().replace('"run.embed"', '"run.teleport"')
    Path("bad.toml").write_text(text)
    res = env("token", "issue", "--key", "issuer", "--holder", "holder.pub", "--license",
              "bad.toml", code=2)  # fmt: skip
    assert "unknown code 'run.teleport'" in res.output


def test_untrusted_issuer(env):
    env("token", "issue", "--key", "holder", "--holder", "holder.pub", "--license", COMMERCIAL,
        "-o", "self.jwt")  # fmt: skip
    res = env("token", "verify", "self.jwt", code=1)
    assert "trust store" in res.output


CHILD = (
    COMMERCIAL.read_text()
    .replace('regions = ["EEA", "CH"]', 'regions = ["DE"]')
    .replace("max_depth = 2", "max_depth = 1")
)


def test_delegate_chain_and_presentation(env):
    Path("child.toml").write_text(CHILD)
    env("token", "delegate", "--parent", "t.jwt", "--key", "holder", "--holder", "contractor.pub",
        "--license", "child.toml", "--format", "cwt", "-o", "c.cwt")  # fmt: skip
    res = env("token", "verify", "t.jwt", "c.cwt", "--json")
    chain = json.loads(res.output)["chain"]
    assert chain[1]["iss"] == chain[0]["sub"] and chain[1]["lic"]["parent"] == chain[0]["digest"]
    env("token", "check", "t.jwt", "c.cwt", *FULL_USE)
    env("token", "check", "t.jwt", "c.cwt", *FULL_USE, "--region", "FR", code=1)
    env("token", "verify", "c.cwt", code=1)  # a sublicense alone is not trusted
    # presentation by the contractor for the leaf
    env("token", "present", "c.cwt", "--key", "contractor", "--audience", "gw", "--nonce", "n1",
        "-o", "p.jwt")  # fmt: skip
    res = env("token", "verify", "t.jwt", "c.cwt", "--presentation", "p.jwt", "--nonce", "n1",
              "--audience", "gw", "--json")  # fmt: skip
    assert json.loads(res.output)["presentation"]["nonce"] == "n1"
    env("token", "verify", "t.jwt", "c.cwt", "--presentation", "p.jwt", "--nonce", "n2",
        "--audience", "gw", code=1)  # fmt: skip
    env("token", "verify", "t.jwt", "c.cwt", "--presentation", "p.jwt", code=2)
    # a stolen token: the thief's key is not the holder key
    env("token", "present", "c.cwt", "--key", "holder", "--audience", "gw", "--nonce", "n1",
        code=2)  # fmt: skip


def test_delegate_refuses_to_widen(env):
    Path("wide.toml").write_text(COMMERCIAL.read_text().replace('"EEA", "CH"', '"EEA", "CH", "US"'))
    res = env("token", "delegate", "--parent", "t.jwt", "--key", "holder", "--holder",
              "contractor.pub", "--license", "wide.toml", code=1)  # fmt: skip
    assert "permit.regions: US" in res.output
    res = env("token", "delegate", "--parent", "t.jwt", "--key", "contractor", "--holder",
              "contractor.pub", "--license", "wide.toml", code=1)  # fmt: skip
    assert "holder key" in res.output
