"""A lone surrogate escape in any JSON input is malformed input: exit 2, one line, no traceback."""

import json

import pytest

DIGEST = "3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c"


@pytest.fixture(scope="module")
def demo(demo_dir):
    return demo_dir("surrogates")


@pytest.fixture(scope="module")
def refuse(demo, lic_cli):
    """`lic ARGS` with the demo's keyring, which must end in one surrogate error line."""
    run = lic_cli.with_env(LIC_HOME=demo / "keys")

    def refused(*args):
        out = run(*args, code=2).output
        lines = out.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("lic: error: "), out
        assert "surrogate" in lines[0]

    return refused


def test_policy_with_a_lone_surrogate(demo, refuse):
    doc = json.loads((demo / "policy.json").read_text())
    doc["trust"]["keys"][1]["name"] = "\ud800"
    (demo / "bad-policy.json").write_text(json.dumps(doc))
    refuse(
        "verify",
        "--bundle",
        demo / "contractor.bundle",
        "--policy",
        demo / "bad-policy.json",
        "--action",
        "run",
        "--purpose",
        "research.academic",
        "--region",
        "DE",
        "--no-data",
        "--model-digest",
        DIGEST,
    )


def test_trust_store_with_a_lone_surrogate(demo, refuse):
    doc = json.loads((demo / "verifier-trust.json").read_text())
    doc["keys"][0]["name"] = "\ud800"
    (demo / "bad-trust.json").write_text(json.dumps(doc))
    refuse("token", "verify", demo / "licensee.jwt", "--trust", demo / "bad-trust.json")


def test_export_header_with_a_lone_surrogate(demo, refuse, lic_cli, tmp_path):
    lic_cli.output("ledger", "export", "--db", demo / "ledger.db", "--jsonl", tmp_path / "e.jsonl")
    lines = (tmp_path / "e.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    header["origin"] += "\udc80"
    header["log_vkey"] = header["log_vkey"].replace("/log+", "/log\udc80+")
    lines[0] = json.dumps(header)
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    refuse("ledger", "audit", "--jsonl", tmp_path / "bad.jsonl", "--quiet")
    refuse("ledger", "import", "--db", tmp_path / "new.db", "--quiet", tmp_path / "bad.jsonl")
    assert not (tmp_path / "new.db").exists()
