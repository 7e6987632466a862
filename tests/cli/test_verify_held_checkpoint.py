"""``lic verify --checkpoint NOTE --update FILE`` (issue 14 item 7): a verifier that holds a
newer checkpoint finds, offline, a revocation recorded after the bundle's checkpoint."""

import time

import pytest

from helpers.backends import copy_ledger
from keys import MalformedError
from ledger.bundle import parse_policy, verify_bundle
from ledger.store import Ledger

DIGEST = "3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c"
USE = ["--action", "run", "--purpose", "research.academic", "--region", "DE", "--no-data",
       "--model-digest", DIGEST]  # fmt: skip


@pytest.fixture(scope="module")
def demo(demo_dir, lic_cli):
    """The demo: contractor.bundle was made at checkpoint 12; the licensee (its parent) was
    revoked later, and the ledger's latest checkpoint (17) says so."""
    d = demo_dir("held")
    with Ledger.open(d / "ledger.db") as led:
        (d / "now.note").write_bytes(led.cosigned_checkpoint().note)
        (d / "then.note").write_bytes(led.cosigned_checkpoint(12).note)
    run = lic_cli.with_env(LIC_HOME=d / "keys")
    db = ["--db", d / "ledger.db"]
    run("bundle", "update", d / "contractor.bundle", "--out", d / "now.update", *db)
    r = run("bundle", "update", d / "contractor.bundle", "--size", "12", "--out",
            d / "then.update", "--json", *db)  # fmt: skip
    assert r.json["checkpoint_size"] == 12, r.output
    return d


@pytest.fixture(scope="module")
def verify(demo, lic_cli):
    """`lic verify --json` of the demo's contractor bundle for one use, with EXTRA options:
    the exit code and the parsed answer (the output when it is not JSON)."""
    run = lic_cli.with_env(LIC_HOME=demo / "keys")

    def verified(*extra):
        r = run("verify", "--bundle", demo / "contractor.bundle", "--policy",
                demo / "policy.json", *USE, *extra, "--json", code=None)  # fmt: skip
        return r.exit_code, (r.json if r.json is not None else r.output)

    return verified


def test_alone_the_old_bundle_still_permits(verify):
    code, out = verify()
    assert code == 0 and out["effect"] == "permit"


def test_the_held_checkpoint_finds_the_later_revocation(demo, verify):
    code, out = verify("--checkpoint", demo / "now.note", "--update", demo / "now.update")
    assert code == 1
    assert (out["effect"], out["reason"]) == ("invalid", "revoked")
    checks = {c["name"]: c["status"] for c in out["checks"]}
    assert checks["held-checkpoint"] == checks["consistency"] == "pass"
    assert checks["held-non-revocation"] == "fail"


def test_the_bundles_own_checkpoint_held_changes_nothing(demo, verify):
    code, out = verify("--checkpoint", demo / "then.note", "--update", demo / "then.update")
    assert code == 0 and out["effect"] == "permit", out


def test_a_held_checkpoint_needs_its_update(demo, verify):
    code, out = verify("--checkpoint", demo / "now.note")
    assert code == 1 and out["reason"] == "consistency"
    code, out = verify("--checkpoint", demo / "now.note", "--update", demo / "then.update")
    assert code == 1 and out["reason"] == "consistency"  # an update for another checkpoint
    code, out = verify("--update", demo / "now.update")
    assert code == 2


def test_a_held_checkpoint_must_be_the_logs(demo, verify):
    forged = (demo / "now.note").read_bytes().replace(b"\n17\n", b"\n18\n")
    (demo / "forged.note").write_bytes(forged)
    code, out = verify("--checkpoint", demo / "forged.note", "--update", demo / "now.update")
    assert code == 1 and out["reason"] == "held-checkpoint"


@pytest.mark.parametrize("which", ["now", "then"])
def test_no_single_byte_change_of_the_evidence_gets_a_better_verdict(demo, which):
    bundle = (demo / "contractor.bundle").read_bytes()
    policy = parse_policy((demo / "policy.json").read_bytes())
    note, update = (demo / f"{which}.note").read_bytes(), (demo / f"{which}.update").read_bytes()
    now = int(time.time())
    good = verify_bundle(bundle, policy, now=now, held_checkpoint=note, update=update)
    assert good.effect == ("invalid" if which == "now" else "valid")
    # the note's text and the log's signature line (lines by other keys may be dropped freely)
    signed = note.index(b"\n", note.index(b"\n\n") + 2) + 1
    for data, is_update, end in ((update, True, len(update)), (note, False, signed)):
        for i in range(end):
            bad = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
            kw = {"update": bad, "held_checkpoint": note} if is_update else {
                "update": update, "held_checkpoint": bad}  # fmt: skip
            try:
                r = verify_bundle(bundle, policy, now=now, **kw)
            except MalformedError:
                continue
            assert r.effect == "invalid", (is_update, i)


def test_bundle_update_from_a_postgresql_ledger_writes_the_same_files(
    demo, lic_cli, pg_cluster, tmp_path
):
    """The demo's ledger exported and imported into a PostgreSQL schema: `lic bundle update
    --db postgresql://...` writes the updates the file gave, byte for byte."""
    url = copy_ledger(demo / "ledger.db", pg_cluster.new_url("held"))
    run = lic_cli.with_env(LIC_HOME=demo / "keys")
    for name, size in (("now", []), ("then", ["--size", "12"])):
        out = tmp_path / f"{name}.update"
        run("bundle", "update", demo / "contractor.bundle", *size, "--out", out, "--db", url)
        assert out.read_bytes() == (demo / f"{name}.update").read_bytes()
