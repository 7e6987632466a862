"""One definition of a token's status at a time (SPEC 14.5, issue 14 item 3): `lic ledger
status`, the audit summary, the transparency report and bundle verification all say the same.
The demo's ledger on both backends (``module_ledger_at``: the file, or its export imported into
a PostgreSQL schema)."""

import time

import pytest

import lic
from helpers.backends import copy_ledger
from ledger.audit import audit_db, audit_summary
from ledger.bundle import parse_policy, verify_bundle
from ledger.report import replay_report
from ledger.state import TOKEN_STATUSES, status_at


def _issue_and_grant(run, d, db, name, *window):
    run("token", "issue", "--key", "issuer", "--holder", d / "licensee.jwk",
        "--license", d / "academic.toml", "-o", d / name, *window)  # fmt: skip
    token = lic.decode_unverified((d / name).read_bytes().strip())
    run("ledger", "grant", d / name, "--key", "issuer", "--salt-file", d / "alice.salt",
        "--at", max(token.nbf, token.iat), "--db", db)  # fmt: skip
    return token


@pytest.fixture(scope="module")
def demo(demo_dir, module_ledger_at):
    """The demo's directory and its ledger on this module's backend."""
    d = demo_dir("status")
    if module_ledger_at.backend == "sqlite":
        return d, d / "ledger.db"
    return d, copy_ledger(d / "ledger.db", module_ledger_at("status"))


@pytest.fixture(scope="module")
def run(demo, lic_cli):
    return lic_cli.with_env(LIC_HOME=demo[0] / "keys")


@pytest.fixture(scope="module")
def world(demo, run):
    """The demo (both of its licenses revoked), one license that expires five seconds after
    issue and one that starts a day after, both granted, and a checkpoint over them."""
    d, db = demo
    short = _issue_and_grant(run, d, db, "short.jwt", "--lifetime", "PT5S")
    later = _issue_and_grant(run, d, db, "later.jwt",
                             "--not-before", str(int(time.time()) + 86400))  # fmt: skip
    imported = isinstance(db, str)  # an import records no log key name: name it
    run("ledger", "checkpoint", "--db", db, *(("--key", "log") if imported else ()))
    return d, db, short, later


def status_json(run, d, db, token, at, code):
    res = run("ledger", "status", d / token, "--at", at, "--db", db, "--json",
              code=code)  # fmt: skip
    return res.json["status"]


def test_the_rules_in_order():
    assert status_at(10, 10, 20) == "active"
    assert status_at(19, 10, 20) == "active"
    assert status_at(20, 10, 20) == "expired"  # exp is exclusive, as for tokens
    assert status_at(9, 10, 20) == "not_yet_valid"
    assert status_at(25, 10, 20, "revoked") == "revoked"  # a withdrawal beats the window
    assert status_at(15, 10, 20, "suspended") == "suspended"
    assert set(TOKEN_STATUSES) == {
        "active", "not_yet_valid", "expired", "suspended", "revoked", "unknown",
    }  # fmt: skip


def test_ledger_status_says_expired_and_not_yet_valid(world, run):
    d, db, short, later = world
    assert status_json(run, d, db, "short.jwt", short.nbf, 0) == "active"
    assert status_json(run, d, db, "short.jwt", short.exp, 1) == "expired"
    assert "expired; records:" in run.output("ledger", "status", d / "short.jwt", "--at",
                                             short.exp + 1, "--db", db, code=1)  # fmt: skip
    assert status_json(run, d, db, "later.jwt", later.nbf - 1, 1) == "not_yet_valid"
    assert status_json(run, d, db, "later.jwt", later.nbf, 0) == "active"
    assert status_json(run, d, db, "contractor.jwt", short.nbf, 1) == "revoked"


def test_the_audit_and_the_report_count_the_same(world):
    _, db, short, _ = world
    t = short.exp + 10
    summary = audit_summary(audit_db(db), at=t)
    assert summary["licenses"] == {
        "active": 0, "not_yet_valid": 1, "expired": 1, "suspended": 0, "revoked": 2,
    }  # fmt: skip
    report, _ = replay_report(db=db, k=1, end=t)
    cells = report["licenses"]["status"]
    assert {k: cells[k]["count"] for k in cells} == summary["licenses"]
    # at a time the short license is still valid, both count it active
    t = short.nbf + 1
    summary = audit_summary(audit_db(db), at=t)
    report, _ = replay_report(db=db, k=1, end=summary["as_of"] + 1)
    assert summary["licenses"]["active"] == 1
    assert report["licenses"]["status"]["active"]["count"] == 1


def test_a_bundle_names_the_status(world, run):
    d, db, short, later = world
    policy = parse_policy((d / "policy.json").read_bytes())
    for token, now, status in (
        ("short.jwt", short.exp + 3600, "expired"),
        ("later.jwt", later.nbf - 3600, "not_yet_valid"),
    ):
        run("bundle", "create", d / token, "--db", db, "--out", d / "x.bundle")
        r = verify_bundle((d / "x.bundle").read_bytes(), policy, now=now)
        assert (r.effect, r.reason, r.status) == ("invalid", status, status)
        assert r.to_dict()["status"] == status
    run("bundle", "create", d / "contractor.jwt", "--chain", d / "licensee.jwt",
        "--db", db, "--out", d / "x.bundle")  # fmt: skip
    r = verify_bundle((d / "x.bundle").read_bytes(), policy, now=short.nbf)
    assert (r.effect, r.status) == ("invalid", "revoked")
