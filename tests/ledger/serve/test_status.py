"""GET /status/<digest>: a token's status as of the latest checkpoint with evidence that
verify_status checks offline (checkpoint, revoked-set proofs, grant and withdrawal receipts);
a tampered answer is refused."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from helpers.serve_world import new_location
from helpers.submit_world import HOLDER, ISSUER, ServerProcess, make_ledger, post_entry, request
from keys import LicError
from ledger.entries import make_entry
from ledger.serve import verify_status
from ledger.store import Ledger

NOW = int(time.time())
ROOT = hashlib.sha256(b"root token").digest()
CHILD = hashlib.sha256(b"child token").digest()
OTHER = hashlib.sha256(b"other token").digest()
NEVER = hashlib.sha256(b"never granted").digest()


def _grant(digest: bytes, author, parent: bytes | None = None) -> bytes:
    p = {
        "at": NOW,
        "token_digest": digest,
        "holder": HOLDER.public_key.raw,
        "licensee": hashlib.sha256(b"salt|alice").digest(),
        "tier": "academic",
        "not_before": NOW - 1000,
        "not_after": NOW + 10**6,
    }
    if parent is not None:
        p["parent"] = parent
    return make_entry("grant", p, author)


def _revoke(digest: bytes) -> bytes:
    p = {"at": NOW, "tokens": [digest], "reason": "legal_order", "effective": NOW - 10}
    return make_entry("revoke", {**p, "cascade": True}, ISSUER)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def log(request, tmp_path_factory):
    db = new_location(request, tmp_path_factory, "status")
    make_ledger(db)
    server = ServerProcess(db, interval=0.1)
    entries = [_grant(ROOT, ISSUER), _grant(CHILD, HOLDER, ROOT), _grant(OTHER, ISSUER)]
    entries.append(_revoke(ROOT))
    for e in entries:
        got = post_entry(server.url, e, wait=10)
        assert got.status == 200, got.body
    with Ledger.open(db) as led:
        verifier = led.log_verifier
    yield server, verifier
    server.stop()


def _status(server, digest: bytes) -> bytes:
    got = request(server.url, "GET", f"/status/{digest.hex()}")
    assert got.status == 200, got.body
    assert got.headers["content-type"] == "application/json"
    return got.body


def test_a_sublicense_revoked_through_its_parent(log):
    server, verifier = log
    body = _status(server, CHILD)
    ev = verify_status(body, CHILD, verifier)
    assert ev.status == "revoked"
    assert ev.members == (ROOT,)  # the parent is in the revoked set, the child is not
    assert ev.grants == (2, 1)  # the child's grant (record 2), then the root's (record 1)
    assert ev.withdrawals == (4,)
    assert json.loads(body)["via"] == ROOT.hex()


def test_an_active_token_and_an_unknown_one(log):
    server, verifier = log
    ev = verify_status(_status(server, OTHER), OTHER, verifier)
    assert (ev.status, ev.members, ev.grants, ev.withdrawals) == ("active", (), (3,), ())
    ev = verify_status(_status(server, NEVER), NEVER, verifier)
    assert (ev.status, ev.members, ev.grants) == ("unknown", (), ())
    assert ev.size == 5


def _tampered(body: bytes) -> list[bytes]:
    m = json.loads(body)
    out = []
    for change in (
        lambda x: x.update(digest=OTHER.hex()),
        lambda x: x.update(size=x["size"] + 1),
        lambda x: x.update(checkpoint=x["checkpoint"].replace("\n5\n", "\n6\n")),
        lambda x: x["links"][0].update(absent=x["links"][0]["absent"].replace(" 1 0\n", " 2 0\n")),
        lambda x: x["links"][1].update(absent=x["links"][1]["absent"][:-3] + "\n"),
        lambda x: x["links"][0].update(grant=0),
        lambda x: x["links"][0].update(grant_receipt=x["links"][1]["grant_receipt"]),
        lambda x: x["links"].pop(),
        lambda x: x["withdrawals"][0].update(receipt=x["links"][0]["grant_receipt"]),
        lambda x: x.pop("links"),
    ):
        y = json.loads(json.dumps(m))
        change(y)
        out.append(json.dumps(y).encode())
    return out


def test_a_tampered_answer_is_refused(log):
    server, verifier = log
    body = _status(server, CHILD)
    absent = json.loads(body)["links"][0]["absent"]  # the set's one member, at the root
    assert absent.startswith("lic-absent/v2 1 0\nleaf ")
    for bad in _tampered(body):
        with pytest.raises(LicError):
            verify_status(bad, CHILD, verifier)
