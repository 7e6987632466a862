"""A lone surrogate escape in any JSON input is malformed input: exit 2, one line, no traceback."""

import json

import pytest
from click.testing import CliRunner

from cli.main import cli

DIGEST = "3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("surrogates") / "d"
    r = CliRunner().invoke(cli, ["demo", "--dir", str(d), "--quiet"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return d


def run(d, *args):
    r = CliRunner(env={"LIC_HOME": str(d / "keys")}).invoke(cli, [str(a) for a in args])
    assert r.exit_code == 2, (args, r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lic: error: "), r.output
    assert "surrogate" in lines[0]


def test_policy_with_a_lone_surrogate(demo):
    doc = json.loads((demo / "policy.json").read_text())
    doc["trust"]["keys"][1]["name"] = "\ud800"
    (demo / "bad-policy.json").write_text(json.dumps(doc))
    run(
        demo,
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


def test_trust_store_with_a_lone_surrogate(demo):
    doc = json.loads((demo / "verifier-trust.json").read_text())
    doc["keys"][0]["name"] = "\ud800"
    (demo / "bad-trust.json").write_text(json.dumps(doc))
    run(demo, "token", "verify", demo / "licensee.jwt", "--trust", demo / "bad-trust.json")


def test_export_header_with_a_lone_surrogate(demo, tmp_path):
    CliRunner().invoke(
        cli,
        ["ledger", "export", "--db", str(demo / "ledger.db"), "--jsonl", str(tmp_path / "e.jsonl")],
        catch_exceptions=False,
    )
    lines = (tmp_path / "e.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    header["origin"] += "\udc80"
    header["log_vkey"] = header["log_vkey"].replace("/log+", "/log\udc80+")
    lines[0] = json.dumps(header)
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    run(demo, "ledger", "audit", "--jsonl", tmp_path / "bad.jsonl", "--quiet")
    run(demo, "ledger", "import", "--db", tmp_path / "new.db", "--quiet", tmp_path / "bad.jsonl")
    assert not (tmp_path / "new.db").exists()
