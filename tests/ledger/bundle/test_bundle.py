"""Offline bundles (SPEC 10): the end-to-end story over real witnesses, with no socket opened
while verifying; revocation and staleness; every single-byte change refused; the policy file;
the CLI. The scenario's ledger lives on each backend (``ledger_at``: a SQLite file, a
PostgreSQL schema), and a ledger's export imported into PostgreSQL gives the bundles its file
gives, byte for byte; the witnesses' own stores stay SQLite files (a witness keeps its state
in a file, whatever the log's backend)."""

import contextlib
import io
import json
import socket
import threading
from pathlib import Path

import pytest

import ledger.bundle._bundle
import lic
from helpers.bundle_scenario import (
    LOG,
    MAX_AGE,
    ORIGIN,
    T0,
    WITNESS_KEYS,
    WITNESS_NAMES,
    build,
    policy,
)
from helpers.paths import ROOT
from keys import LicError, MalformedError, SigningKey, TrustEntry, TrustStore
from ledger.bundle import (
    BUNDLE_MAGIC,
    MAX_BUNDLE_SIZE,
    Bundle,
    BundleLink,
    TrustPolicy,
    create_bundle,
    create_update,
    parse_bundle,
    parse_policy,
    verify_bundle,
)
from ledger.store import Ledger
from ledger.tlog import CosignatureV1Verifier, cosign, parse_note
from ledger.witness import Witness, collect_cosignatures, make_witness_server

COSIGN_AT = T0 + 500
NOW = T0 + 1000
MODEL = "c2d9a6f3b0e7d4a1c8f5b2e9d6a3f0c7b4e1d8a5f2c9b6e3d0a7f4c1b8e5d2a9"
FULL = dict(
    action="run.inference", purpose="enterprise", channel="api", platform="search",
    data=frozenset(), rate=lic.Rate.parse("10/PT1H"), mau=10, model_digest=MODEL,
)  # fmt: skip
USE = lic.Use(region="DE", **FULL)
USE_ARGS = ["--action", "run.inference", "--purpose", "enterprise", "--channel", "api",
            "--platform", "search", "--no-data", "--rate", "10/PT1H", "--mau", "10",
            "--model-digest", MODEL]  # fmt: skip


@contextlib.contextmanager
def serving(db: Path, key: SigningKey, clock):
    server = make_witness_server(db, key, "127.0.0.1", 0, clock=clock)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    t.daemon = True
    t.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        t.join(10)
        assert not t.is_alive()


@contextlib.contextmanager
def three_witnesses(tmp_path: Path, log_vkey: str, clock):
    """Witnesses 1 and 2 know the log; witness 3 knows another log only (it answers 404)."""
    other = SigningKey.from_seed(bytes(32)).public_key.verifier_key("other.example/log")
    with contextlib.ExitStack() as stack:
        urls = []
        for i in range(3):
            db = tmp_path / f"w{i}.db"
            if not db.exists():
                logs = [log_vkey] if i < 2 else [other]
                Witness.create(db, WITNESS_NAMES[i], WITNESS_KEYS[i], logs).close()
            urls.append(stack.enter_context(serving(db, WITNESS_KEYS[i], clock)))
        yield urls


def witness_verifiers():
    return [
        CosignatureV1Verifier(n, k.public_key)
        for n, k in zip(WITNESS_NAMES, WITNESS_KEYS, strict=True)
    ]


class NoNetwork:
    """Makes every socket creation fail, and counts the attempts."""

    def __init__(self, monkeypatch):
        self.attempts = 0

        def refuse(*a, **k):
            self.attempts += 1
            raise AssertionError("a socket was opened during offline verification")

        monkeypatch.setattr(socket, "socket", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)
        monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def s(ledger_at):
    """The bundle scenario (two links) on this test's backend, closed at the end."""
    scenario = build(ledger_at("l"))
    yield scenario
    scenario.led.close()


def _imported(led: Ledger, pg_cluster) -> str:
    """A PostgreSQL schema holding ``led``'s export (its records, checkpoints, cosignatures)."""
    export = io.StringIO()
    led.export_jsonl(export)
    url = pg_cluster.new_url("imported")
    Ledger.import_jsonl(url, export.getvalue().splitlines()).close()
    return url


def test_a_ledger_gives_the_same_bundles_on_both_backends(tmp_path, pg_cluster):
    """The scenario's ledger (its tokens carry random ids) exported from a file and imported
    into a PostgreSQL schema gives the same bundles, at either checkpoint, and updates."""
    lite = build(tmp_path / "l.db")
    with lite.led:
        first = lite.checkpoint(COSIGN_AT)
        lite.revoke(lite.tokens[1], kind="suspend")
        lite.checkpoint(COSIGN_AT + 10, witnesses=(1, 2))
        url = _imported(lite.led, pg_cluster)
    made = []
    for place in (lite.path, url):
        with Ledger.open(place) as led:
            old, new = (create_bundle(led, lite.tokens, size=n) for n in (first, None))
            made.append((old, new, create_update(led, old)))
    assert made[0] == made[1]
    assert len(set(made[0])) == 3


def test_end_to_end_offline_over_real_witnesses(s, tmp_path, monkeypatch):
    clock = [COSIGN_AT]
    with three_witnesses(tmp_path, s.led.log_vkey, lambda: clock[0]) as urls:
        s.led.checkpoint(LOG)
        got = collect_cosignatures(s.led, urls, witness_verifiers(), 2)
        assert got.met and len(got.cosigners) == 2  # the third witness does not know the log
        assert not got.reports[2].ok
        fresh = create_bundle(s.led, s.tokens)
        assert fresh.startswith(BUNDLE_MAGIC)
        (tmp_path / "old.bundle").write_bytes(fresh)
        pol = policy()
        with monkeypatch.context() as m:
            net = NoNetwork(m)
            r = verify_bundle(fresh, pol, now=NOW, use=USE)
            assert net.attempts == 0
        assert r.effect == "permit", r.to_dict()
        assert [c.status for c in r.checks] == ["pass"] * 8
        assert r.digests == tuple(lic.token_digest(t) for t in s.tokens)
        # a use the sublicense does not allow (FR is outside DE, AT) is denied, checks passing
        fr = lic.Use(region="FR", **FULL)
        denied = verify_bundle(fresh, pol, now=NOW, use=fr)
        assert (denied.effect, denied.reason) == ("deny", "deny")
        # the parent is revoked; a new checkpoint is cosigned
        s.revoke(s.tokens[0])
        clock[0] = COSIGN_AT + 600
        s.led.checkpoint(LOG)
        assert collect_cosignatures(s.led, urls, witness_verifiers(), 2).met
        after = create_bundle(s.led, s.tokens)
    with monkeypatch.context() as m:
        net = NoNetwork(m)
        r = verify_bundle(after, policy(), now=NOW + 600, use=USE)
        assert net.attempts == 0
    assert (r.effect, r.reason) == ("invalid", "revoked")
    failed = [c for c in r.checks if c.status == "fail"]
    assert [c.name for c in failed] == ["non-revocation"]
    assert "link 0" in failed[0].detail
    # the old bundle still verifies while its checkpoint is young enough, then is stale
    old = (tmp_path / "old.bundle").read_bytes()
    assert verify_bundle(old, policy(), now=COSIGN_AT + MAX_AGE, use=USE).effect == "permit"
    stale = verify_bundle(old, policy(), now=COSIGN_AT + MAX_AGE + 1, use=USE)
    assert (stale.effect, stale.reason) == ("invalid", "stale")
    assert [c.name for c in stale.checks if c.status == "fail"] == ["freshness"]


def test_quorum_counts_distinct_policy_witnesses_with_past_timestamps(s):
    s.checkpoint(COSIGN_AT, witnesses=(0,))
    one = create_bundle(s.led, s.tokens)
    r = verify_bundle(one, policy(), now=NOW)
    assert (r.effect, r.reason) == ("invalid", "witnesses")
    assert verify_bundle(one, policy(quorum=1), now=NOW).effect == "valid"
    # a cosignature from the future does not count
    s.append(
        "key.add", {"key": WITNESS_KEYS[2].public_key.raw, "role": "witness", "name": "w"}, LOG
    )
    s.checkpoint(NOW + 100, witnesses=(0, 1))
    future = create_bundle(s.led, s.tokens)
    r = verify_bundle(future, policy(), now=NOW)
    assert (r.effect, r.reason) == ("invalid", "witnesses")
    assert "future" in next(c.detail for c in r.checks if c.name == "witnesses")
    assert verify_bundle(future, policy(), now=NOW + 100).effect == "valid"


def test_freshness_uses_the_kth_newest_cosignature(s):
    cp = s.led.checkpoint(LOG)
    text = parse_note(cp.note).text
    lines = [
        cosign(text, WITNESS_KEYS[0], WITNESS_NAMES[0], COSIGN_AT),
        cosign(text, WITNESS_KEYS[1], WITNESS_NAMES[1], COSIGN_AT + 300),
    ]
    s.led.add_cosignatures(cp.checkpoint.size, lines)
    b = create_bundle(s.led, s.tokens)
    # with k = 2 the quorum is as fresh as its older member; with k = 1, as the newest
    assert verify_bundle(b, policy(2), now=COSIGN_AT + MAX_AGE).effect == "valid"
    assert verify_bundle(b, policy(2), now=COSIGN_AT + MAX_AGE + 1).reason == "stale"
    assert verify_bundle(b, policy(1), now=COSIGN_AT + MAX_AGE + 300).effect == "valid"
    assert verify_bundle(b, policy(1), now=COSIGN_AT + MAX_AGE + 301).reason == "stale"


def test_suspension_and_reinstatement_move_the_set(s):
    s.revoke(s.tokens[1], kind="suspend")
    s.checkpoint(COSIGN_AT)
    r = verify_bundle(create_bundle(s.led, s.tokens), policy(), now=NOW)
    assert r.reason == "revoked" and "link 1" in str(r.to_dict())
    s.append(
        "reinstate",
        {"tokens": [lic.token_digest(s.tokens[1])], "effective": s.t, "cascade": True},
        ledger_issuer(),
    )
    s.checkpoint(COSIGN_AT + 10)
    assert verify_bundle(create_bundle(s.led, s.tokens), policy(), now=NOW).effect == "valid"


def ledger_issuer():
    from helpers.bundle_scenario import ISSUER

    return ISSUER


def test_untrusted_issuer_log_or_foreign_grant(s):
    s.checkpoint(COSIGN_AT)
    b = create_bundle(s.led, s.tokens)
    pol = policy()
    no_issuer = TrustPolicy(
        TrustStore([e for e in pol.trust.entries if e.role != "issuer"]), 2, MAX_AGE
    )
    r = verify_bundle(b, no_issuer, now=NOW)
    assert r.reason == "chain"
    other_log = SigningKey.from_seed(bytes(range(32))).public_key
    entries = [e for e in pol.trust.entries if e.role != "log"]
    wrong_log = TrustPolicy(
        TrustStore([*entries, TrustEntry(other_log, "log", ORIGIN)]), 2, MAX_AGE
    )
    r = verify_bundle(b, wrong_log, now=NOW)
    assert r.reason == "checkpoint"
    # a receipt for another record (the root's grant, offered for the child) is refused
    parsed = parse_bundle(b)
    swapped = Bundle(
        parsed.checkpoint,
        (parsed.links[0], BundleLink(parsed.links[1].token, parsed.links[0].receipt,
                                            parsed.links[1].absent)),
    )  # fmt: skip
    r = verify_bundle(ledger.bundle._bundle.encode_bundle(swapped), pol, now=NOW)
    assert r.reason == "grants"


def test_every_single_byte_change_is_refused(tmp_path, pg_cluster):
    """The bundle is made from the scenario's file and from its export imported into a
    PostgreSQL schema, the same bytes (checked): the mutations then run once for both."""
    s = build(tmp_path / "l.db")
    with s.led:
        s.checkpoint(COSIGN_AT)
        b = create_bundle(s.led, s.tokens)
        with Ledger.open(_imported(s.led, pg_cluster)) as pg:
            assert create_bundle(pg, s.tokens) == b
    pol = policy()
    assert verify_bundle(b, pol, now=NOW, use=USE).effect == "permit"
    reasons: dict[str, int] = {}
    for i in range(len(b)):
        bad = b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1 :]
        try:
            r = verify_bundle(bad, pol, now=NOW, use=USE)
        except LicError as e:
            assert str(e).startswith("bundle:"), (i, e)
            reasons["malformed"] = reasons.get("malformed", 0) + 1
            continue
        assert r.effect == "invalid", (i, r.to_dict())
        failed = [c for c in r.checks if c.status == "fail"]
        assert failed and all(c.detail for c in failed), (i, r.to_dict())
        assert r.reason
        reasons[r.reason] = reasons.get(r.reason, 0) + 1
    # the changes land in every part of the bundle
    assert {"malformed", "chain", "checkpoint", "inclusion"} <= set(reasons), reasons


def test_bundle_parsing_is_strict(s):
    s.checkpoint(COSIGN_AT)
    b = create_bundle(s.led, s.tokens)
    body = lic.cbor.decode(b[len(BUNDLE_MAGIC) :], max_size=1 << 22)
    bad = [
        b"",
        b"lic-bundle/v2\n" + b[len(BUNDLE_MAGIC) :],
        b + b"\x00",
        b[:-1],
        BUNDLE_MAGIC + lic.cbor.encode({**body, "x": 1}),
        BUNDLE_MAGIC + lic.cbor.encode({"checkpoint": body["checkpoint"], "links": []}),
        BUNDLE_MAGIC + lic.cbor.encode({**body, "links": body["links"] * 9}),
        BUNDLE_MAGIC + lic.cbor.encode({**body, "checkpoint": "text"}),
        BUNDLE_MAGIC + lic.cbor.encode({**body, "links": [{**body["links"][0], "token": b""}]}),
        b[: len(BUNDLE_MAGIC)] + b"\x00" * (MAX_BUNDLE_SIZE),
    ]
    for data in bad:
        with pytest.raises(MalformedError, match=r"^bundle:"):
            parse_bundle(data)


def test_create_refuses_what_it_cannot_prove(s):
    with pytest.raises(MalformedError, match="not granted"):  # no checkpoint covers the grants
        create_bundle(s.led, s.tokens)
    s.checkpoint(COSIGN_AT)
    rail = lic.load_license((ROOT / "examples/open-rail.json").read_bytes())
    stranger = lic.issue(
        rail, SigningKey.from_seed(bytes(32)), LOG.public_key, iss="x", sub="y", now=T0
    )
    with pytest.raises(MalformedError, match="link 0"):
        create_bundle(s.led, [stranger])
    with pytest.raises(MalformedError):
        create_bundle(s.led, [])


def test_policy_file_is_strict():
    pol = policy()
    doc = pol.to_json()
    assert parse_policy(json.dumps(doc).encode()).to_json() == doc
    bad = [
        {**doc, "format": "lic-policy/v2"},
        {**doc, "extra": 1},
        {k: v for k, v in doc.items() if k != "max_age"},
        {**doc, "quorum": 0},
        {**doc, "quorum": 4},
        {**doc, "quorum": True},
        {**doc, "max_age": 0},
        {**doc, "max_age": 1.5},
        {**doc, "trust": {"format": "lic-ledger trust store v1", "keys": []}},
        {**doc, "trust": []},
    ]
    for d in bad:
        with pytest.raises(MalformedError):
            parse_policy(json.dumps(d).encode())
    with pytest.raises(MalformedError):
        parse_policy(b'{"format": "lic-policy/v1", "format": "lic-policy/v1"}')
    with pytest.raises(MalformedError):
        parse_policy(b"\xff")


def test_cli_bundle_create_and_verify(s, tmp_path, lic_cli):
    s.checkpoint(COSIGN_AT)
    s.led.close()
    for i, t in enumerate(s.tokens):
        (tmp_path / f"t{i}.jwt").write_bytes(t)
    (tmp_path / "policy.json").write_text(json.dumps(policy().to_json()))
    run = lic_cli
    db = str(s.path)
    t0, t1 = str(tmp_path / "t0.jwt"), str(tmp_path / "t1.jwt")
    res = run("bundle", "create", t1, "--chain", t0, "--db", db, "--json", code=None)
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["links"] == 2 and Path(info["out"]) == tmp_path / "t1.bundle"
    pol = str(tmp_path / "policy.json")
    args = ["verify", "--bundle", str(tmp_path / "t1.bundle"), "--policy", pol, "--at", str(NOW)]
    res = run(*args, *USE_ARGS, "--region", "DE", "--json", code=None)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["effect"] == "permit" and out["decision"]["effect"] == "permit"
    assert [c["name"] for c in out["checks"]][:7] == [
        "chain", "checkpoint", "witnesses", "freshness", "inclusion", "grants", "non-revocation",
    ]  # fmt: skip
    res = run(*args, *USE_ARGS, "--region", "FR", code=None)
    assert res.exit_code == 1 and res.output.startswith("DENY")
    res = run(*args, "--action", "run.inference", code=None)  # purpose etc. not given
    assert res.exit_code == 3 and res.output.startswith("INDETERMINATE")
    res = run(*args[:-1], str(COSIGN_AT + MAX_AGE + 1), code=None)
    assert (
        res.exit_code == 1 and "INVALID (stale)" in res.output and "fail  freshness" in res.output
    )
    (tmp_path / "bad.bundle").write_bytes(b"not a bundle")
    res = run(
        "verify",
        "--bundle",
        str(tmp_path / "bad.bundle"),
        "--policy",
        str(tmp_path / "policy.json"),
        code=None,
    )
    assert res.exit_code == 2 and "lic: error: bundle:" in res.output
    assert "Traceback" not in res.output
    res = run(
        "verify",
        "--bundle",
        str(tmp_path / "t1.bundle"),
        "--policy",
        str(tmp_path / "t0.jwt"),
        code=None,
    )
    assert res.exit_code == 2 and "policy" in res.output
    res = run("bundle", "create", str(tmp_path / "t1.jwt"), "--db", db, code=None)  # no --chain
    assert res.exit_code == 0  # a bundle of the leaf alone is made; its chain check fails
    res = run(
        "verify",
        "--bundle",
        str(tmp_path / "t1.bundle"),
        "--policy",
        str(tmp_path / "policy.json"),
        "--at",
        str(NOW),
        code=None,
    )
    assert res.exit_code == 1 and "INVALID (chain)" in res.output


def test_a_bundle_at_an_older_checkpoint_predates_the_revocation(s):
    first = s.checkpoint(COSIGN_AT)
    s.revoke(s.tokens[0])
    s.checkpoint(COSIGN_AT + 10)
    now = COSIGN_AT + 20
    assert verify_bundle(create_bundle(s.led, s.tokens), policy(), now=now).reason == "revoked"
    old = create_bundle(s.led, s.tokens, size=first)  # what the ledger said before
    r = verify_bundle(old, policy(), now=now)
    assert r.effect == "valid" and r.checkpoint_size == first
    with pytest.raises(MalformedError, match="no such checkpoint"):
        create_bundle(s.led, s.tokens, size=99)
