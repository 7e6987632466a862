"""Access requests and decisions on the ledger (issue 14 item 5): a grant may not answer a
denied request (unless an appeal overturned the denial); a request's purpose and region come
from the vocabulary, as a token's do (lower-case regions read as upper case); a denial gives
at least one reason code."""

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from ledger.entries import entry_problems, open_entry
from ledger.store import Ledger


def run(d, *args, code=0):
    r = CliRunner(env={"LIC_HOME": str(d / "keys")}).invoke(
        cli, [str(a) for a in args], catch_exceptions=False
    )
    assert "Traceback" not in r.output
    assert r.exit_code == code, (args, r.exit_code, r.output)
    return r.output


def ledger(d, *args, code=0):
    return run(d, "ledger", *args, "--db", d / "ledger.db", code=code)


def appended(out):
    return json.loads(out)["index"]


@pytest.fixture
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("access") / "d"
    run(d, "demo", "--dir", d)
    run(d, "token", "issue", "--key", "issuer", "--holder", d / "licensee.jwk",
        "--license", d / "academic.toml", "-o", d / "bob.jwt")  # fmt: skip
    return d


def request(d, purpose="research", region="DE", code=0):
    return ledger(d, "request", "--applicant", "bob@adtech.example", "--salt-file",
                  d / "bob.salt", "--tier", "academic", "--purpose", purpose,
                  "--region", region, "--key", "issuer", "--json", code=code)  # fmt: skip


def grant(d, req, code=0):
    return ledger(d, "grant", d / "bob.jwt", "--key", "issuer", "--salt-file", d / "bob.salt",
                  "--request", req, "--json", code=code)  # fmt: skip


def test_a_grant_cannot_answer_a_denied_request(demo):
    with Ledger.open(demo / "ledger.db") as led:
        size = led.size
    out = grant(demo, 6, code=1)  # the demo's record 6: Bob's request, denied by record 7
    assert "request 6 was denied (record 7)" in out
    with Ledger.open(demo / "ledger.db") as led:
        assert led.size == size  # nothing written
    # an approved request may be answered
    assert appended(grant(demo, 4)) == size


def test_a_grant_may_answer_a_denial_overturned_on_appeal(demo):
    req = appended(request(demo))
    dec = appended(ledger(demo, "decide", "--request", req, "--decision", "denied", "--reason",
                          "incomplete_application", "--key", "issuer", "--json"))  # fmt: skip
    assert "was denied" in grant(demo, req, code=1)
    app = appended(ledger(demo, "appeal", "file", "--target", dec, "--grounds", "Complete now.",
                          "--anonymous", "--json"))  # fmt: skip
    ledger(demo, "appeal", "decide", "--appeal", app, "--outcome", "upheld",
           "--rationale", "Still incomplete.", "--key", "reviewer")  # fmt: skip
    assert "was denied" in grant(demo, req, code=1)  # upheld: still denied
    app = appended(ledger(demo, "appeal", "file", "--target", dec, "--grounds", "Really.",
                          "--anonymous", "--json"))  # fmt: skip
    ledger(demo, "appeal", "decide", "--appeal", app, "--outcome", "overturned",
           "--rationale", "The file was complete.", "--key", "reviewer")  # fmt: skip
    grant(demo, req)
    assert json.loads(ledger(demo, "audit", "--json", "--quiet"))["clean"]


def test_a_request_names_vocabulary_codes(demo):
    out = request(demo, purpose="anything.goes", code=2)
    assert "unknown code 'anything.goes'" in out and "research.academic" in out
    assert "surveillance.biometric" in out  # the prohibited-use taxonomy is listed too
    out = request(demo, region="XX", code=2)
    assert "'XX'" in out and "DE" in out and "EU" in out
    for purpose in ("research.safety", "surveillance.biometric.realtime", "x-acme.internal"):
        request(demo, purpose=purpose)
    index = appended(request(demo, region="de"))
    with Ledger.open(demo / "ledger.db") as led:
        assert open_entry(led.record(index)).payload["region"] == "DE"
    index = appended(request(demo, region="eu"))
    with Ledger.open(demo / "ledger.db") as led:
        assert open_entry(led.record(index)).payload["region"] == "EU"


def test_a_denial_gives_a_reason(demo):
    req = appended(request(demo))
    out = ledger(demo, "decide", "--request", req, "--decision", "denied", "--key", "issuer",
                 code=2)  # fmt: skip
    assert "a denial gives at least one reason code" in out
    for decision in ("approved", "needs_information"):
        ledger(demo, "decide", "--request", req, "--decision", decision, "--key", "issuer")


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"purpose": "commercial.product"}, "purpose"),
        ({"purpose": "Research"}, "purpose"),
        ({"region": "ZZ"}, "region"),
        ({"region": "de"}, "region"),  # the record holds the normalised code
    ],
)
def test_the_schema_refuses_codes_outside_the_vocabulary(payload, problem):
    base = {"at": 1, "applicant": bytes(32), "tier": "academic", "purpose": "research",
            "region": "DE"}  # fmt: skip
    assert entry_problems("access.request", base) == []
    problems = entry_problems("access.request", {**base, **payload})
    assert [p for p, _ in problems] == [problem]
    decision = {"at": 1, "request": 0, "decision": "denied", "reasons": [], "decided_at": 1}
    assert [p for p, _ in entry_problems("access.decision", decision)] == ["reasons"]
    assert entry_problems("access.decision", {**decision, "reasons": ["tier_mismatch"]}) == []
