"""A policy without witnesses only when asked for (issue 14 item 18, STYLE rule 11): `lic policy
create --no-witnesses` records it in the file and `lic verify` says "log alone, no witness
quorum"; without the flag a trust store with no witness keys gets a clear refusal."""

import json

import pytest

from keys import MalformedError
from ledger.bundle import parse_policy

DIGEST = "3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c"
USE = ["--action", "run", "--purpose", "research.academic", "--region", "DE", "--no-data",
       "--model-digest", DIGEST]  # fmt: skip


@pytest.fixture(scope="module")
def demo(demo_dir):
    d = demo_dir("no-witnesses")
    store = json.loads((d / "verifier-trust.json").read_text())
    store["keys"] = [k for k in store["keys"] if k["role"] != "witness"]
    (d / "log-only-trust.json").write_text(json.dumps(store))
    return d


def create(lic_cli, d, *args, code=0):
    return lic_cli.with_env(LIC_HOME=d / "keys")(
        "policy", "create", "--max-age", "P7D", "--trust", d / "log-only-trust.json", *args,
        code=code,
    )  # fmt: skip


def test_no_witness_keys_is_refused_with_a_clear_message(demo, lic_cli):
    r = create(lic_cli, demo, "--quorum", "1", "--out", demo / "p.json", code=2)
    assert "1..0" not in r.output
    assert "no witness keys" in r.output and "--no-witnesses" in r.output
    assert not (demo / "p.json").exists()


def test_no_witnesses_excludes_a_quorum(demo, lic_cli):
    r = create(lic_cli, demo, "--no-witnesses", "--quorum", "1", "--out", demo / "p.json", code=2)
    assert "--no-witnesses" in r.output and "--quorum" in r.output


def test_a_quorum_or_no_witnesses_is_required(demo, lic_cli):
    r = create(lic_cli, demo, "--out", demo / "p.json", code=2)
    assert "--quorum" in r.output and "--no-witnesses" in r.output


def test_no_witnesses_with_witness_keys_is_refused(demo, lic_cli):
    r = lic_cli.with_env(LIC_HOME=demo / "keys")(
        "policy", "create", "--max-age", "P7D", "--trust", demo / "verifier-trust.json",
        "--no-witnesses", "--out", demo / "p.json", code=2,
    )  # fmt: skip
    assert "witness" in r.output and not (demo / "p.json").exists()


def test_a_log_alone_policy_is_recorded_and_reported_by_verify(demo, lic_cli):
    out = demo / "log-alone.json"
    r = create(lic_cli, demo, "--no-witnesses", "--out", out, "--json")
    assert r.json["quorum"] == 0 and r.json["no_witnesses"] is True
    text = create(lic_cli, demo, "--no-witnesses", "--out", out).stdout
    assert "log alone, no witness quorum" in text and "s old" not in text
    doc = json.loads(out.read_text())
    assert doc["no_witnesses"] is True and doc["quorum"] == 0
    assert parse_policy(out.read_bytes()).no_witnesses
    v = lic_cli.with_env(LIC_HOME=demo / "keys")(
        "verify", "--bundle", demo / "contractor.bundle", "--policy", out, *USE
    )
    assert v.stdout.startswith("PERMIT")
    assert "log alone, no witness quorum" in v.stdout


def test_a_quorum_of_zero_without_the_member_is_refused():
    store = {"format": "lic-ledger trust store v1", "keys": []}
    doc = {"format": "lic-policy/v1", "trust": store, "quorum": 0, "max_age": 60}
    with pytest.raises(MalformedError, match="no_witnesses"):
        parse_policy(json.dumps(doc).encode())


def test_existing_policies_keep_their_bytes(demo):
    data = (demo / "policy.json").read_bytes()
    policy = parse_policy(data)
    assert not policy.no_witnesses and policy.dumps() == data


def test_the_no_witnesses_member_is_strict(demo):
    with_witnesses = json.loads((demo / "policy.json").read_text())
    log_only = {**with_witnesses, "trust": json.loads((demo / "log-only-trust.json").read_text()),
                "quorum": 0, "no_witnesses": True}  # fmt: skip
    assert parse_policy(json.dumps(log_only).encode()).no_witnesses
    bad = [
        {**log_only, "no_witnesses": False},
        {**log_only, "no_witnesses": 1},
        {**log_only, "quorum": 1},
        {**with_witnesses, "quorum": 0, "no_witnesses": True},
        {**with_witnesses, "no_witnesses": True},
    ]
    for doc in bad:
        with pytest.raises(MalformedError, match="no_witnesses"):
            parse_policy(json.dumps(doc).encode())
