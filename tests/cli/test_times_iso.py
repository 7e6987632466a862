"""Text output writes times as ISO 8601 UTC and durations as ISO 8601 durations, never raw
epoch seconds or "N s" (issue 14 item 18); --json keeps the numbers."""

from __future__ import annotations

import re

import pytest

ISSUE = ("token", "issue", "--key", "issuer", "--holder", "keys/licensee.pub",
         "--license", "academic.toml")  # fmt: skip
EPOCH = re.compile(r"\b1[0-9]{9}\b")


@pytest.fixture
def demo(demo_dir, lic_cli, monkeypatch):
    d = demo_dir("times-iso")
    monkeypatch.chdir(d)
    return lic_cli.with_env(LIC_HOME=d / "keys")


def test_token_time_errors_name_iso_times(demo):
    demo(*ISSUE, "--not-before", "2026-12-01T00:00:00Z", "--not-after", "2027-01-01T00:00:00Z",
         "-o", "t.jwt")  # fmt: skip
    late = demo("token", "verify", "t.jwt", "--trust", "verifier-trust.json",
                "--at", "2027-02-01T00:00:00Z", code=1)  # fmt: skip
    assert "token expired at 2027-01-01T00:00:00Z (now 2027-02-01T00:00:00Z)" in late.stderr
    early = demo("token", "verify", "t.jwt", "--trust", "verifier-trust.json",
                 "--at", "2026-11-01T00:00:00Z", code=1)  # fmt: skip
    assert "not valid before 2026-12-01T00:00:00Z (now 2026-11-01T00:00:00Z)" in early.stderr
    assert not EPOCH.search(late.stderr + early.stderr)


def test_stale_bundle_says_the_age_as_a_duration(demo):
    res = demo("verify", "--bundle", "contractor-now.bundle", "--policy", "policy.json",
               "--action", "run", "--purpose", "research.academic", "--region", "DE",
               "--no-data", "--at", "2099-01-01T00:00:00Z", code=1)  # fmt: skip
    assert re.search(r"a quorum last cosigned it P[0-9]+DT[0-9HMS]+ ago \(max P7D\)", res.stdout)
    assert " s ago" not in res.stdout and " s)" not in res.stdout
    assert "token expired at 2" in res.stdout and not EPOCH.search(res.stdout)


def test_fresh_bundle_and_policy_say_durations(demo):
    ok = demo("verify", "--bundle", "contractor-now.bundle", "--policy", "policy.json",
              "--action", "run", "--purpose", "research.academic", "--region", "DE",
              "--no-data", code=None)  # fmt: skip
    assert re.search(r"cosigned by a quorum P\S+ ago \(max P7D\)", ok.stdout), ok.stdout
    made = demo("policy", "create", "--trust", "verifier-trust.json", "--quorum", "1",
                "--max-age", "P1DT12H", "--out", "p2.json")  # fmt: skip
    assert "checkpoints up to P1DT12H old" in made.output


def test_ledger_show_time_is_iso_in_text_and_a_number_in_json(demo):
    number = demo("ledger", "show", "--index", 0, "--json").json["time"]
    assert isinstance(number, int)
    text = demo("ledger", "show", "--index", 0).stdout
    assert re.search(r"^time: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", text, re.M)
