"""Access requests and decisions on the ledger (issue 14 item 5): a grant may not answer a
denied request (unless an appeal overturned the denial); a request's purpose and region come
from the vocabulary, as a token's do (lower-case regions read as upper case); a denial gives
at least one reason code."""

import pytest

from ledger.entries import entry_problems, open_entry
from ledger.store import Ledger


@pytest.fixture
def demo(demo_dir, lic_cli):
    d = demo_dir("access")
    lic_cli.with_env(LIC_HOME=d / "keys")(
        "token", "issue", "--key", "issuer", "--holder", d / "licensee.jwk",
        "--license", d / "academic.toml", "-o", d / "bob.jwt")  # fmt: skip
    return d


@pytest.fixture
def run(demo, lic_cli):
    return lic_cli.with_env(LIC_HOME=demo / "keys")


def ledger(run, d, *args, code=0):
    """`lic ledger ARGS` on the demo's ledger."""
    return run("ledger", *args, "--db", d / "ledger.db", code=code)


def request(run, d, purpose="research", region="DE", code=0):
    return ledger(run, d, "request", "--applicant", "bob@adtech.example", "--salt-file",
                  d / "bob.salt", "--tier", "academic", "--purpose", purpose,
                  "--region", region, "--key", "issuer", "--json", code=code)  # fmt: skip


def grant(run, d, req, code=0):
    return ledger(run, d, "grant", d / "bob.jwt", "--key", "issuer", "--salt-file",
                  d / "bob.salt", "--request", req, "--json", code=code)  # fmt: skip


def appended(res):
    return res.json["index"]


def test_a_grant_cannot_answer_a_denied_request(demo, run):
    with Ledger.open(demo / "ledger.db") as led:
        size = led.size
    out = grant(run, demo, 6, code=1).output  # the demo's record 6: Bob's request, denied by 7
    assert "request 6 was denied (record 7)" in out
    with Ledger.open(demo / "ledger.db") as led:
        assert led.size == size  # nothing written
    # an approved request may be answered
    assert appended(grant(run, demo, 4)) == size


def test_a_grant_may_answer_a_denial_overturned_on_appeal(demo, run):
    req = appended(request(run, demo))
    dec = appended(ledger(run, demo, "decide", "--request", req, "--decision", "denied",
                          "--reason", "incomplete_application", "--key", "issuer",
                          "--json"))  # fmt: skip
    assert "was denied" in grant(run, demo, req, code=1).output
    app = appended(ledger(run, demo, "appeal", "file", "--target", dec, "--grounds",
                          "Complete now.", "--anonymous", "--json"))  # fmt: skip
    ledger(run, demo, "appeal", "decide", "--appeal", app, "--outcome", "upheld",
           "--rationale", "Still incomplete.", "--key", "reviewer")  # fmt: skip
    assert "was denied" in grant(run, demo, req, code=1).output  # upheld: still denied
    app = appended(ledger(run, demo, "appeal", "file", "--target", dec, "--grounds", "Really.",
                          "--anonymous", "--json"))  # fmt: skip
    ledger(run, demo, "appeal", "decide", "--appeal", app, "--outcome", "overturned",
           "--rationale", "The file was complete.", "--key", "reviewer")  # fmt: skip
    grant(run, demo, req)
    assert ledger(run, demo, "audit", "--json", "--quiet").json["clean"]


def test_a_request_names_vocabulary_codes(demo, run):
    out = request(run, demo, purpose="anything.goes", code=2).output
    assert "unknown code 'anything.goes'" in out and "research.academic" in out
    assert "surveillance.biometric" in out  # the prohibited-use taxonomy is listed too
    out = request(run, demo, region="XX", code=2).output
    assert "'XX'" in out and "DE" in out and "EU" in out
    for purpose in ("research.safety", "surveillance.biometric.realtime", "x-acme.internal"):
        request(run, demo, purpose=purpose)
    index = appended(request(run, demo, region="de"))
    with Ledger.open(demo / "ledger.db") as led:
        assert open_entry(led.record(index)).payload["region"] == "DE"
    index = appended(request(run, demo, region="eu"))
    with Ledger.open(demo / "ledger.db") as led:
        assert open_entry(led.record(index)).payload["region"] == "EU"


def test_a_denial_gives_a_reason(demo, run):
    req = appended(request(run, demo))
    out = ledger(run, demo, "decide", "--request", req, "--decision", "denied",
                 "--key", "issuer", code=2).output  # fmt: skip
    assert "a denial gives at least one reason code" in out
    for decision in ("approved", "needs_information"):
        ledger(run, demo, "decide", "--request", req, "--decision", decision, "--key", "issuer")


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
