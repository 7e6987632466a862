"""`lic bundle create --log URL` makes, from a real `lic serve`, the very bundle `lic bundle
create --db` makes from the file; `lic verify --log URL` checks a bundle against the log's
latest checkpoint, so a revocation recorded after the bundle turns PERMIT into DENY with the
record that says so. Without --log, verify is unchanged (same output)."""

from __future__ import annotations

from helpers import bundle_scenario as bs
from ledger.bundle import create_bundle

LOG_VKEY = bs.LOG.public_key.verifier_key(bs.ORIGIN)
NOW = bs.T0 + 1000
MODEL = "c2d9a6f3b0e7d4a1c8f5b2e9d6a3f0c7b4e1d8a5f2c9b6e3d0a7f4c1b8e5d2a9"
USE = ["--action", "run.inference", "--purpose", "enterprise", "--channel", "api", "--platform",
       "search", "--no-data", "--rate", "10/PT1H", "--mau", "10", "--model-digest", MODEL,
       "--region", "DE"]  # fmt: skip


def _tokens(served, tmp_path):
    paths = []
    for i, tok in enumerate(served.s.tokens):
        p = tmp_path / f"t{i}.jwt"
        p.write_bytes(tok)
        paths.append(p)
    return paths


def test_bundle_from_the_service_then_verify_online(served, lic_cli, tmp_path):
    root, child, leaf = _tokens(served, tmp_path)
    out = tmp_path / "leaf.bundle"
    res = lic_cli("bundle", "create", leaf, "--chain", root, "--chain", child, "--log",
                  served.url, "--log-key", LOG_VKEY, "--out", out, "--json")  # fmt: skip
    assert res.json["checkpoint_size"] == 4
    assert out.read_bytes() == create_bundle(served.s.led, served.s.tokens)

    policy = tmp_path / "policy.json"
    bs.policy().save(policy)
    args = ("verify", "--bundle", out, "--policy", policy, *USE, "--at", NOW)
    offline = lic_cli(*args, "--json").json
    assert offline["effect"] == "permit"
    online = lic_cli(*args, "--log", served.url, "--json").json
    assert online["effect"] == "permit" and online["online"]["size"] == 4
    assert [x["status"] for x in online["online"]["links"]] == ["active"] * 3

    rev = served.s.revoke(served.s.tokens[1])  # the middle link, after the bundle was made
    served.s.checkpoint(bs.T0 + 200)
    assert lic_cli(*args, "--json").json == offline  # offline, the bundle cannot know
    state = tmp_path / "verifier-state"
    res = lic_cli(*args, "--log", served.url, "--log-state", state, "--json", code=1)
    out_json = res.json
    assert (out_json["effect"], out_json["reason"]) == ("deny", "revoked")
    assert out_json["offline_effect"] == "permit" and out_json["online"]["size"] == 5
    statuses = [(x["status"], x["records"]) for x in out_json["online"]["links"]]
    assert statuses == [("active", [1]), ("revoked", [rev]), ("revoked", [rev])]  # grant, revoke
    text = lic_cli(*args, "--log", served.url, "--log-state", state, code=1).stdout
    assert text.startswith("DENY (revoked)") and "the log revoked it since" in text

    # a bundle made from the service now carries the revocation itself
    again = tmp_path / "again.bundle"
    lic_cli("bundle", "create", leaf, "--chain", root, "--chain", child, "--log", served.url,
            "--log-key", LOG_VKEY, "--out", again, "--log-state", state)  # fmt: skip
    assert again.read_bytes() == create_bundle(served.s.led, served.s.tokens)
    res = lic_cli("verify", "--bundle", again, "--policy", policy, *USE, "--at", NOW, "--json",
                  code=1)  # fmt: skip
    assert res.json["reason"] == "revoked"


def test_log_options_are_checked(served, lic_cli, tmp_path):
    leaf = _tokens(served, tmp_path)[-1]
    res = lic_cli("bundle", "create", leaf, "--log", served.url, code=2)
    assert "--log-key" in res.stderr
    res = lic_cli("bundle", "create", leaf, "--log-key", LOG_VKEY, code=2)
    assert "need --log" in res.stderr
    policy = tmp_path / "policy.json"
    bs.policy().save(policy)
    bundle = tmp_path / "b"
    bundle.write_bytes(create_bundle(served.s.led, served.s.tokens))
    res = lic_cli("verify", "--bundle", bundle, "--policy", policy, "--log", served.url,
                  "--checkpoint", policy, code=2)  # fmt: skip
    assert "no --checkpoint" in res.stderr
