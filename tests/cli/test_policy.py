"""lic policy create: a trust store and a quorum become the policy lic verify reads."""

import json

from ledger.bundle import parse_policy


def test_policy_from_trust_store(tmp_path, monkeypatch, lic_cli):
    monkeypatch.setenv("LIC_HOME", str(tmp_path / "keys"))
    run = lic_cli.output
    for name, role in (("iss", "issuer"), ("w1", "witness"), ("w2", "witness")):
        run("keys", "new", name)
        (tmp_path / f"{name}.pem").write_text(run("keys", "export", name, "--format", "pem"))
        run("trust", "add", tmp_path / f"{name}.pem", "--role", role, "--name", name)
    out = tmp_path / "policy.json"
    # no log key yet: refused with the reason, nothing written
    assert "no log key" in run(
        "policy", "create", "--quorum", "1", "--max-age", "P7D", "-o", out, code=2
    )
    assert not out.exists()
    run("keys", "new", "log")
    (tmp_path / "log.pem").write_text(run("keys", "export", "log", "--format", "pem"))
    run("trust", "add", tmp_path / "log.pem", "--role", "log", "--name", "example.com/log")
    info = json.loads(
        run("policy", "create", "--quorum", "2", "--max-age", "P7D", "-o", out, "--json")
    )
    assert info == {"out": str(out), "quorum": 2, "no_witnesses": False, "witnesses": 2,
                    "max_age": 7 * 86400, "keys": 4}  # fmt: skip
    policy = parse_policy(out.read_bytes())
    assert (policy.quorum, policy.max_age, policy.witness_count) == (2, 7 * 86400, 2)
    assert "quorum must lie in 1..2" in run(
        "policy", "create", "--quorum", "3", "--max-age", "P7D", "-o", out, code=2
    )
    assert "ISO 8601" in run(
        "policy", "create", "--quorum", "1", "--max-age", "a week", "-o", out, code=2
    )
