"""`lic token issue --not-after TIME` ends a token's validity at a given time (issue 14 item
18): the TIME grammar of every other option, exclusive with --lifetime, and refused when it
does not come after the start of validity."""

from __future__ import annotations

import pytest

ISSUE = ("token", "issue", "--key", "issuer", "--holder", "keys/licensee.pub")


@pytest.fixture
def demo(demo_dir, lic_cli, monkeypatch):
    d = demo_dir("not-after")
    monkeypatch.chdir(d)
    return lic_cli.with_env(LIC_HOME=d / "keys")


def test_not_after_sets_the_end_of_validity(demo):
    res = demo(*ISSUE, "--license", "academic.toml", "--not-before", "2026-12-01T00:00:00Z",
               "--not-after", "2027-01-01T00:00:00Z", "--json")  # fmt: skip
    assert res.json["nbf"] == 1796083200
    assert res.json["exp"] == 1798761600
    issued = demo(*ISSUE, "--license", "academic.toml", "--not-after", "4102444800", "-o", "t.jwt")
    assert issued.exit_code == 0
    shown = demo("token", "inspect", "t.jwt").stdout
    assert ".. 2100-01-01T00:00:00Z" in shown


def test_not_after_and_lifetime_are_exclusive(demo):
    res = demo(*ISSUE, "--license", "academic.toml", "--lifetime", "P1D",
               "--not-after", "2099-01-01T00:00:00Z", code=2)  # fmt: skip
    assert "--not-after or --lifetime, not both" in res.stderr


@pytest.mark.parametrize("end", ["2026-12-01T00:00:00Z", "2026-11-30T23:59:59Z"])
def test_not_after_must_come_after_not_before(demo, end):
    res = demo(*ISSUE, "--license", "academic.toml", "--not-before", "2026-12-01T00:00:00Z",
               "--not-after", end, code=2)  # fmt: skip
    assert "must be after not before" in res.stderr
    assert res.stdout == ""
