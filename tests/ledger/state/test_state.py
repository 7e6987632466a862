"""The derived ledger state: authorization by role at time, cross-references, cascade, incidents.
The state is the one a ledger stores, on both backends (``module_ledger_at``): its tables in a
SQLite file or a PostgreSQL schema, written inside a write transaction that is never committed."""

import pytest

from keys import SigningKey
from ledger.store import Ledger, begin_write

T = 1_790_000_000
LOG_KEY = SigningKey.from_seed(bytes([10]) * 32)
LOG = LOG_KEY.public_key.raw
ISSUER, RESPONDER, REVIEWER, ATTESTER = (bytes([i]) * 32 for i in range(11, 15))
HOLDER_A, HOLDER_B, STRANGER = bytes([20]) * 32, bytes([21]) * 32, bytes([22]) * 32
ROOT, CHILD, GRANDCHILD, OTHER = (bytes([i]) * 32 for i in range(30, 34))
LICENSEE = bytes([40]) * 32


class Log:
    """Applies entries in order, as the appender would; remembers findings."""

    def __init__(self, led):
        self.state = led.stored_state()
        self.index = 0

    def add(self, etype, author, t=T, **payload):
        findings = self.state.apply(self.index, t, etype, {"at": t, **payload}, author)
        self.index += 1
        return findings

    def ok(self, etype, author, t=T, **payload):
        findings = self.add(etype, author, t, **payload)
        assert findings == [], findings
        return self.index - 1


def grant(digest, holder, parent=None, nb=T, na=T + 1000):
    g = {"token_digest": digest, "holder": holder, "licensee": LICENSEE, "tier": "academic"}
    g.update(not_before=nb, not_after=na)
    if parent is not None:
        g["parent"] = parent
    return g


@pytest.fixture(scope="module")
def led(module_ledger_at):
    """One empty ledger per backend: each test's state lives in a transaction rolled back."""
    with Ledger.create(module_ledger_at("state"), "example.com/log", LOG_KEY) as x:
        yield x


@pytest.fixture
def log(led):
    begin_write(led.connection)
    lg = Log(led)
    for key, role in [
        (ISSUER, "issuer"),
        (RESPONDER, "responder"),
        (REVIEWER, "reviewer"),
        (ATTESTER, "attester"),
    ]:
        lg.ok("key.add", LOG, key=key, role=role, name=role)
    yield lg
    led.connection.execute("ROLLBACK")


def test_chain_of_grants_and_cascading_revocation(log):
    log.ok("grant", ISSUER, **grant(ROOT, HOLDER_A))
    log.ok("grant", HOLDER_A, **grant(CHILD, HOLDER_B, parent=ROOT, na=T + 500))
    log.ok("grant", HOLDER_B, **grant(GRANDCHILD, STRANGER, parent=CHILD, na=T + 400))
    assert log.state.status(GRANDCHILD, T + 1).status == "active"
    rev = log.ok(
        "revoke", ISSUER, tokens=[ROOT], reason="prohibited_use", effective=T + 10, cascade=True
    )
    assert log.state.status(GRANDCHILD, T + 5).status == "active"  # not yet effective
    st = log.state.status(GRANDCHILD, T + 10)
    assert (st.status, st.evidence, st.via) == ("revoked", (rev,), ROOT)
    assert log.state.status(OTHER, T).status == "unknown"


def test_no_cascade_leaves_children_active(log):
    log.ok("grant", ISSUER, **grant(ROOT, HOLDER_A))
    log.ok("grant", HOLDER_A, **grant(CHILD, HOLDER_B, parent=ROOT))
    log.ok("suspend", ISSUER, tokens=[ROOT], reason="duty_breach", effective=T, cascade=False)
    assert log.state.status(ROOT, T).status == "suspended"
    assert log.state.status(CHILD, T).status == "active"
    log.ok("reinstate", ISSUER, tokens=[ROOT], effective=T + 1, cascade=True)
    assert log.state.status(ROOT, T + 2).status == "active"


def test_revocation_by_licensee_commitment_hits_all_their_tokens(log):
    log.ok("grant", ISSUER, **grant(ROOT, HOLDER_A))
    log.ok("grant", ISSUER, **grant(OTHER, HOLDER_A))
    log.ok(
        "revoke",
        ISSUER,
        licensee=LICENSEE,
        reason="fraudulent_application",
        effective=T,
        cascade=True,
    )
    assert {log.state.status(d, T).status for d in (ROOT, OTHER)} == {"revoked"}


@pytest.mark.parametrize(
    ("etype", "author", "payload", "expect"),
    [
        ("grant", STRANGER, grant(ROOT, HOLDER_A), "not registered"),
        ("grant", RESPONDER, grant(ROOT, HOLDER_A), "has role 'responder'"),
        (
            "terms.publish",
            ATTESTER,
            {
                "id": "t",
                "version": "1",
                "sha256": ROOT,
                "effective": T,
                "notice_days": 0,
                "change": "initial",
            },
            "has role",
        ),
        ("key.add", ISSUER, {"key": STRANGER, "role": "issuer", "name": "x"}, "has role"),
        ("key.add", LOG, {"key": ISSUER, "role": "issuer", "name": "x"}, "already registered"),
        (
            "access.decision",
            ISSUER,
            {"request": 0, "decision": "denied", "reasons": ["x"], "decided_at": T},
            "does not name a record of type access.request",
        ),
        ("appeal.file", ISSUER, {"target": 0, "grounds": "g", "filed_at": T}, "does not name"),
        (
            "appeal.decide",
            REVIEWER,
            {
                "appeal": 1,
                "outcome": "upheld",
                "rationale": "r",
                "independent": True,
                "decided_at": T,
            },
            "does not name",
        ),
        (
            "revoke",
            ISSUER,
            {"tokens": [OTHER], "reason": "legal_order", "effective": T, "cascade": True},
            "never granted",
        ),
        ("grant", ISSUER, grant(CHILD, HOLDER_B, parent=OTHER), "parent token was never granted"),
        (
            "incident.close",
            RESPONDER,
            {"incident": 0, "outcome": "remediated", "summary": "s"},
            "does not name an incident report",
        ),
        ("grant", ISSUER, {**grant(ROOT, HOLDER_A), "tier": "galactic"}, "unknown code"),
    ],
)
def test_refused_entries_are_named_and_change_nothing(log, etype, author, payload, expect):
    before = log.state.table_rows()
    index = log.index
    findings = log.add(etype, author, **payload)
    assert len(findings) >= 1 and all(f.index == index for f in findings)
    assert any(expect in f.message for f in findings), findings
    after = log.state.table_rows()
    (meta,) = after.pop("st_meta")
    (meta_before,) = before.pop("st_meta")
    assert meta[2] == index + 1  # the size counts the record; nothing else changed
    assert meta[:2] + meta[3:] == meta_before[:2] + meta_before[3:]
    assert after == before


def test_sublicense_only_by_the_parent_holder_and_inside_its_window(log):
    log.ok("grant", ISSUER, **grant(ROOT, HOLDER_A))
    assert log.add("grant", HOLDER_B, **grant(CHILD, HOLDER_B, parent=ROOT))  # not the holder
    assert log.add("grant", HOLDER_A, **grant(CHILD, HOLDER_B, parent=ROOT, na=T + 5000))
    log.ok("grant", HOLDER_A, **grant(CHILD, HOLDER_B, parent=ROOT))
    # the holder may withdraw its own sublicense, but not its parent
    assert log.add(
        "revoke", HOLDER_A, tokens=[ROOT], reason="licensee_request", effective=T, cascade=True
    )
    log.ok(
        "revoke", HOLDER_A, tokens=[CHILD], reason="downstream_violation", effective=T, cascade=True
    )


def test_compromised_and_retired_keys_cannot_sign_afterwards(log):
    log.ok("key.compromised", LOG, key=ISSUER, since=T + 100)
    log.ok("grant", ISSUER, t=T + 99, **grant(ROOT, HOLDER_A))
    findings = log.add(
        "revoke",
        ISSUER,
        t=T + 100,
        tokens=[ROOT],
        reason="legal_order",
        effective=T + 100,
        cascade=True,
    )
    assert any("compromised" in f.message for f in findings)
    log.ok("key.retire", LOG, key=RESPONDER, effective=T + 50)
    findings = log.add(
        "incident.report",
        RESPONDER,
        t=T + 60,
        kind="hazard",
        harms=["privacy"],
        severity="low",
        affected=[],
        jurisdictions=[],
        description="d",
    )
    # Reports may come from any key, but a registered key is judged by its registration.
    assert any("retired" in f.message for f in findings)
    assert (
        log.add(
            "incident.report",
            STRANGER,
            t=T + 60,
            kind="hazard",
            harms=["privacy"],
            severity="low",
            affected=[],
            jurisdictions=[],
            description="d",
        )
        == []
    )


def test_incident_lifecycle_and_times(log):
    rep = log.ok(
        "incident.report",
        STRANGER,
        t=T,
        kind="incident",
        harms=["privacy"],
        severity="high",
        affected=["individuals"],
        jurisdictions=["DE"],
        description="d",
    )
    log.ok("incident.ack", RESPONDER, t=T + 60, incident=rep)
    log.ok("incident.respond", RESPONDER, t=T + 120, incident=rep, action="a")
    log.ok("grant", ISSUER, **grant(ROOT, HOLDER_A))
    rev = log.ok(
        "revoke",
        ISSUER,
        tokens=[ROOT],
        reason="prohibited_use",
        effective=T,
        cascade=True,
        incidents=[rep],
    )
    log.ok("incident.remediate", RESPONDER, t=T + 200, incident=rep, action="r", revocations=[rev])
    assert [i.index for i in log.state.open_incidents()] == [rep]
    log.ok("incident.close", RESPONDER, t=T + 300, incident=rep, outcome="remediated", summary="s")
    inc = log.state.incidents[rep]
    assert (inc.acked, inc.responded, inc.remediated, inc.closed) == (
        T + 60,
        T + 120,
        T + 200,
        T + 300,
    )
    assert inc.revocations == [rev] and log.state.open_incidents() == []
    assert log.add("incident.update", RESPONDER, incident=rep, note="late")


def test_access_appeal_flow_and_terms_in_force(log):
    req = log.ok(
        "access.request", ISSUER, applicant=LICENSEE, tier="sme", purpose="research", region="FR"
    )
    dec = log.ok(
        "access.decision",
        ISSUER,
        request=req,
        decision="denied",
        reasons=["tier_mismatch"],
        decided_at=T + 3600,
    )
    app = log.ok("appeal.file", ISSUER, target=dec, grounds="g", filed_at=T + 7200)
    log.ok(
        "appeal.decide",
        REVIEWER,
        appeal=app,
        outcome="overturned",
        rationale="r",
        independent=True,
        decided_at=T + 9000,
    )
    assert log.add(
        "appeal.decide",
        REVIEWER,
        appeal=app,
        outcome="upheld",
        rationale="r",
        independent=True,
        decided_at=T + 9001,
    )
    assert log.state.appeals[app]["outcome"] == "overturned"
    terms = {"id": "t", "sha256": ROOT, "notice_days": 30}
    log.ok("terms.publish", ISSUER, version="1", effective=T, change="initial", **terms)
    log.ok(
        "terms.publish",
        ISSUER,
        version="2",
        effective=T + 100,
        supersedes="1",
        change="material",
        **terms,
    )
    assert log.state.terms_in_force(T + 50)["t"]["version"] == "1"
    assert log.state.terms_in_force(T + 100)["t"]["version"] == "2"
    assert log.add("terms.publish", ISSUER, version="2", effective=T, change="minor", **terms)


def test_status_as_of_ignores_later_records(log):
    g_root = log.ok("grant", ISSUER, **grant(ROOT, HOLDER_A))
    g_child = log.ok("grant", HOLDER_A, **grant(CHILD, HOLDER_B, parent=ROOT, na=T + 500))
    rev = log.ok(
        "suspend", ISSUER, tokens=[ROOT], reason="duty_breach", effective=T + 10, cascade=True
    )
    back = log.ok("reinstate", ISSUER, tokens=[ROOT], effective=T + 20, cascade=True)
    st = log.state
    # The reinstatement lifts the suspension from T+20 on; history before that stays.
    assert st.status(CHILD, T + 15).status == "suspended"
    assert st.status(CHILD, T + 25).status == "active"
    # As the ledger stood before the reinstatement: suspended at T+15, via the parent.
    as_of = st.status_as_of(CHILD, T + 15, back)
    assert (as_of.status, as_of.evidence, as_of.via) == ("suspended", (rev,), ROOT)
    assert st.status_as_of(CHILD, T + 15, rev).status == "active"  # before the suspension
    assert st.status_as_of(CHILD, T + 15, g_child).status == "unknown"  # not yet granted
    assert st.status_as_of(ROOT, T + 15, back + 1).status == "suspended"
    assert st.status_as_of(ROOT, T + 25, back + 1).status == "active"
    assert st.status_as_of(ROOT, T + 25, back).status == "suspended"  # lift not yet recorded
    assert st.descendants(ROOT, g_child) == [] and st.descendants(ROOT, g_child + 1) == [CHILD]
    assert st.grants[ROOT].time == T and st.grants[ROOT].request is None
    assert st.withdrawal_info[rev].time == T and st.withdrawal_info[rev].kind == "suspended"
    assert g_root < g_child


def test_appeal_decision_index_is_kept(log):
    req = log.ok(
        "access.request",
        ISSUER,
        applicant=LICENSEE,
        tier="academic",
        purpose="research",
        region="DE",
    )
    dec = log.ok(
        "access.decision", ISSUER, request=req, decision="denied", reasons=["x"], decided_at=T
    )
    app = log.ok("appeal.file", ISSUER, target=dec, grounds="g", filed_at=T)
    done = log.ok(
        "appeal.decide",
        REVIEWER,
        appeal=app,
        outcome="upheld",
        rationale="r",
        independent=False,
        decided_at=T,
    )
    assert log.state.appeals[app]["decided_index"] == done
