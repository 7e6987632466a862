"""The end-to-end demo (``lic demo``): the whole licensing story on a fresh local ledger.

Every step is done with library calls, on the embedded SQLite store, in one directory, and is
described by a ``DemoStep``: what happened in plain words and the ``lic`` commands a person
would type (from that directory, with ``LIC_HOME`` set to its ``keys`` folder) to do it
themselves. ``scale_demo`` instead fills a ledger with synthetic records and reports on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lic
from keys import (
    Keyring,
    MalformedError,
    PublicKey,
    SigningKey,
    TrustEntry,
    TrustStore,
    write_atomic,
)
from ledger.bundle import BundleResult, TrustPolicy, create_bundle, verify_bundle
from ledger.entries import commitment, grant_payload
from ledger.report import replay_report, write_report
from ledger.store import Ledger, append_entry, synthesize, token_status
from ledger.tlog import CosignatureV1Verifier
from ledger.witness import Witness, collect_cosignatures, make_witness_server

from ._demo_model import guarded_load
from ._demo_serve import served_story
from ._params import time_text

__all__ = ["DemoResult", "DemoStep", "run_demo", "scale_demo"]

ORIGIN = "demo.example/log"
WITNESS_NAME = "witness.example"
MODEL_SHA256 = "3f0a6c1e9b7d2a4c5e8f1b3d6a9c2e4f7b0d3a6c9e2f5b8d1a4c7e0f3b6d9a2c"
THUMBPRINT_URI = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:"  # RFC 9278
DAY = 86400

ACADEMIC_LICENSE = """\
# Academic research license: research and education only, no redistribution of the weights,
# no commercial or consumer use, attribution and incident reporting required.
tier = "academic"

[model]
name = "example-lm-7b"
sha256 = "{model_sha256}"

[terms]
id = "example-research-license"
version = "1.0"
sha256 = "{terms_sha256}"

[permit]
actions = ["run", "modify.fine-tune", "modify.quantize"]
purposes = ["research.academic", "research.safety", "education"]

[prohibit]
actions = ["distribute.weights", "host"]
purposes = [
  "enterprise", "consumer", "violence", "surveillance", "social-scoring",
  "deception.disinformation",
]
data = ["personal.special", "personal.children"]

[duties]
attribute = {{ text = "Built with example-lm-7b (research license)" }}
report-incidents = {{ within = "P7D" }}

[sublicense]
allowed = {sublicense}
max_depth = {depth}
"""

TERMS_TEXT = """\
Example research license, version 1.0.

You may run, fine-tune and quantize example-lm-7b for academic research, safety research and
education. You may not redistribute or host the weights, nor use the model commercially, for
consumer products, violence, surveillance, social scoring or disinformation. Credit the model
and report incidents within seven days.
"""


@dataclass(frozen=True)
class DemoStep:
    """One step of the demo: a title, what happened, and the commands that do it by hand."""

    title: str
    said: str
    commands: tuple[str, ...] = ()


@dataclass
class DemoResult:
    """Where the demo wrote its files and what it found."""

    directory: Path
    steps: list[DemoStep] = field(default_factory=list)
    records: int = 0
    clean: bool = False
    report_dir: Path | None = None
    seconds: float = 0.0


class _Demo:
    def __init__(self, directory: Path, on_step: Callable[[DemoStep], None] | None) -> None:
        self.dir = directory
        self.result = DemoResult(directory)
        self.on_step = on_step
        self.keyring = Keyring(directory / "keys")
        self.now = int(time.time())
        self.db = directory / "ledger.db"

    def step(self, title: str, said: str, *commands: str) -> None:
        s = DemoStep(title, said, tuple(commands))
        self.result.steps.append(s)
        if self.on_step is not None:
            self.on_step(s)

    def write(self, name: str, data: str | bytes, mode: int = 0o644) -> Path:
        path = self.dir / name
        raw = data.encode("utf-8") if isinstance(data, str) else data
        write_atomic(path, raw, mode=mode, overwrite=True)
        return path

    def key(self, name: str) -> SigningKey:
        return self.keyring.create(name)


def _sub(key: PublicKey) -> str:
    return THUMBPRINT_URI + key.thumbprint


def run_demo(directory: Path, *, on_step: Callable[[DemoStep], None] | None = None) -> DemoResult:
    """Run the whole story in ``directory`` (which must be empty or absent)."""
    started = time.perf_counter()
    if directory.exists() and any(directory.iterdir()):
        raise MalformedError(f"demo: {directory} is not empty; give a new or empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    d = _Demo(directory, on_step)
    d.step(
        "Set up",
        f"Everything below happens in {directory}: keys in keys/, the ledger in ledger.db. To "
        "type the commands yourself, first run:",
        f"cd {shlex.quote(str(directory))}",
        "export LIC_HOME=$PWD/keys",
    )
    keys = _keys(d)
    led = _ledger(d, keys)
    with led:
        terms_sha = _terms(d, led, keys)
        req = _access(d, led, keys)
        parent, child = _licenses(d, led, keys, req, terms_sha)
        _checkpoint(d, led, keys)
        policy = _check_use(d, led, keys, parent, child)
        guarded_load(d, keys["issuer"], keys["licensee"], policy.trust,
                     _license_for(terms_sha), lambda k: _sub(k.public_key))  # fmt: skip
        rev = _incident(d, led, keys, parent, child)
        _revoked(d, led, keys, policy, parent, child, rev)
    _audit_and_report(d, small=True)
    served_story(d, keys, policy, lambda k: _sub(k.public_key),
                 lambda now: _use(now, "run", "research.academic"),
                 f"{_USE_OK} --model-digest {MODEL_SHA256}")  # fmt: skip
    d.result.seconds = time.perf_counter() - started
    return d.result


def _license_for(terms_sha: str) -> Callable[[str], str]:
    """The academic license file (with sublicensing) for the weights with that digest."""
    return lambda root: ACADEMIC_LICENSE.format(
        model_sha256=root, terms_sha256=terms_sha, sublicense="true", depth=1
    )


def _keys(d: _Demo) -> dict[str, SigningKey]:
    names = ("issuer", "log", "witness", "licensee", "contractor", "reviewer", "responder")
    keys = {n: d.key(n) for n in names}
    for n in ("licensee", "contractor"):
        d.write(f"{n}.jwk", json.dumps(keys[n].public_key.jwk(), separators=(",", ":")) + "\n")
    for n in ("issuer", "reviewer", "responder"):
        d.write(f"{n}.pem", keys[n].public_key.pem())
    d.step(
        "Keys",
        "Created signing keys for the issuer (the model provider), the transparency log, a "
        "witness, the licensee (a university lab), its contractor, an appeals reviewer and an "
        "incident responder, and exported the public keys the others need.",
        *(f"lic keys new {n}" for n in names),
        "lic keys export licensee --format jwk --output licensee.jwk",
        "lic keys export contractor --format jwk --output contractor.jwk",
        *(f"lic keys export {n} --format pem --output {n}.pem" for n in ("issuer", "reviewer")),
        "lic keys export responder --format pem --output responder.pem",
    )
    return keys


def _ledger(d: _Demo, keys: dict[str, SigningKey]) -> Ledger:
    led = Ledger.create(d.db, ORIGIN, keys["log"], log_key_name="log")
    d.write("log.vkey", led.log_vkey + "\n")
    for name in ("issuer", "reviewer", "responder"):
        payload = {"at": d.now, "key": keys[name].public_key.raw, "role": name, "name": name}
        append_entry(led, "key.add", payload, keys["log"], now=d.now)
    d.step(
        "Ledger",
        f"Created the append-only ledger {ORIGIN} (SQLite, ledger.db) signed by the log key, "
        "and registered the issuer, reviewer and responder keys on it with their roles.",
        f"lic ledger init --origin {ORIGIN} --key log",
        f"lic keys export log --format vkey --note-name {ORIGIN} --output log.vkey",
        "lic ledger key add issuer.pem --role issuer --name issuer",
        "lic ledger key add reviewer.pem --role reviewer --name reviewer",
        "lic ledger key add responder.pem --role responder --name responder",
    )
    return led


def _terms(d: _Demo, led: Ledger, keys: dict[str, SigningKey]) -> str:
    d.write("terms.txt", TERMS_TEXT)
    sha = hashlib.sha256(TERMS_TEXT.encode()).digest()
    effective = d.now - DAY
    payload: dict[str, Any] = {
        "at": d.now,
        "id": "example-research-license",
        "version": "1.0",
        "sha256": sha,
        "effective": effective,
        "notice_days": 30,
        "change": "initial",
    }
    append_entry(led, "terms.publish", payload, keys["issuer"], now=d.now)
    d.step(
        "Terms",
        "Published version 1.0 of the human-readable license terms: the ledger records the "
        "SHA-256 of terms.txt, when it takes effect and the notice period for changes.",
        "lic ledger terms publish --id example-research-license --version 1.0 --text terms.txt "
        f"--effective {time_text(effective)} --key issuer",
    )
    return sha.hex()


def _access(d: _Demo, led: Ledger, keys: dict[str, SigningKey]) -> int:
    issuer = keys["issuer"]
    for name in ("alice", "bob"):
        d.write(f"{name}.salt", os.urandom(32), mode=0o600)
    alice = commitment((d.dir / "alice.salt").read_bytes(), "alice@uni.example")
    bob = commitment((d.dir / "bob.salt").read_bytes(), "bob@adtech.example")
    req = {"at": d.now, "applicant": alice, "tier": "academic", "purpose": "research"}
    r1 = append_entry(led, "access.request", {**req, "region": "DE"}, issuer, now=d.now).index
    dec = {"at": d.now, "request": r1, "decision": "approved", "reasons": [], "decided_at": d.now}
    append_entry(led, "access.decision", dec, issuer, now=d.now)
    d.step(
        "Access request approved",
        f"Alice's lab asked for academic access (record {r1}); the ledger keeps only a salted "
        "commitment to her identity (the salt stays with her, in alice.salt). The issuer "
        "approved it.",
        "lic ledger request --applicant alice@uni.example --salt-file alice.salt --tier academic "
        "--purpose research --region DE --key issuer",
        f"lic ledger decide --request {r1} --decision approved --key issuer",
    )
    req2 = {**req, "applicant": bob, "tier": "academic", "purpose": "enterprise.product"}
    r2 = append_entry(led, "access.request", {**req2, "region": "US"}, issuer, now=d.now).index
    dec2 = {
        "at": d.now,
        "request": r2,
        "decision": "denied",
        "reasons": ["prohibited_purpose"],
        "decided_at": d.now,
    }
    di = append_entry(led, "access.decision", dec2, issuer, now=d.now).index
    anon = SigningKey.generate()
    grounds = "Our product is a research tool."
    app = {
        "at": d.now,
        "target": di,
        "grounds": grounds,
        "filed_at": d.now,
        "signer": anon.public_key.raw,
    }
    ai = append_entry(led, "appeal.file", app, anon, now=d.now).index
    verdict = {
        "at": d.now,
        "appeal": ai,
        "outcome": "upheld",
        "rationale": "A commercial product is not academic research.",
        "independent": True,
        "decided_at": d.now,
    }
    append_entry(led, "appeal.decide", verdict, keys["reviewer"], now=d.now)
    d.step(
        "Denial and appeal",
        f"Bob asked for academic access for a commercial product (record {r2}); the issuer "
        f"denied it for 'prohibited_purpose' (record {di}). Bob appealed anonymously (record "
        f"{ai}, signed with a one-time key) and an independent reviewer upheld the denial.",
        "lic ledger request --applicant bob@adtech.example --salt-file bob.salt --tier academic "
        "--purpose enterprise.product --region US --key issuer",
        f"lic ledger decide --request {r2} --decision denied --reason prohibited_purpose "
        "--key issuer",
        f"lic ledger appeal file --target {di} --grounds '{grounds}' --anonymous",
        f"lic ledger appeal decide --appeal {ai} --outcome upheld --rationale 'A commercial "
        "product is not academic research.' --key reviewer",
    )
    return r1


def _licenses(
    d: _Demo, led: Ledger, keys: dict[str, SigningKey], request: int, terms_sha: str
) -> tuple[bytes, bytes]:
    issuer, holder, contractor = keys["issuer"], keys["licensee"], keys["contractor"]
    text = ACADEMIC_LICENSE.format(
        model_sha256=MODEL_SHA256, terms_sha256=terms_sha, sublicense="true", depth=1
    )
    d.write("academic.toml", text)
    narrow = ACADEMIC_LICENSE.format(
        model_sha256=MODEL_SHA256, terms_sha256=terms_sha, sublicense="false", depth=0
    )
    d.write("contractor.toml", narrow)
    parent = lic.issue(
        lic.load_license(text.encode()),
        issuer,
        holder.public_key,
        iss=_sub(issuer.public_key),
        sub=_sub(holder.public_key),
        now=d.now,
        lifetime=365 * DAY,
    )
    d.write("licensee.jwt", parent + b"\n")
    tok = lic.verify_with_key(parent, issuer.public_key, now=d.now)
    alice = commitment((d.dir / "alice.salt").read_bytes(), tok.sub)
    g = grant_payload(tok, alice, at=d.now, request=request)
    gi = append_entry(led, "grant", g, issuer, now=d.now).index
    d.step(
        "Academic license",
        "The issuer signed an academic license token (licensee.jwt: research and education "
        "only, no hosting, no commercial use, one level of sublicensing) bound to the "
        f"licensee's key, and recorded the grant on the ledger (record {gi}).",
        "lic token issue --key issuer --holder licensee.jwk --license academic.toml "
        "--out licensee.jwt",
        f"lic ledger grant licensee.jwt --key issuer --salt-file alice.salt --request {request}",
    )
    child = lic.delegate(
        parent,
        lic.load_license(narrow.encode()),
        holder,
        contractor.public_key,
        sub=_sub(contractor.public_key),
        now=d.now,
    )
    d.write("contractor.jwt", child + b"\n")
    ctok = lic.verify_with_key(child, holder.public_key, now=d.now)
    cg = grant_payload(ctok, hashlib.sha256(b"demo contractor").digest(), at=d.now)
    ci = append_entry(led, "grant", cg, holder, now=d.now).index
    d.step(
        "Sublicense",
        "The licensee sublicensed the model to its contractor (contractor.jwt), signed with "
        "the licensee's own key; the sublicense may only narrow the license (here: no further "
        f"sublicensing). Its grant is on the ledger too (record {ci}).",
        "lic token delegate --parent licensee.jwt --key licensee --holder contractor.jwk "
        "--license contractor.toml --out contractor.jwt",
        f"lic ledger grant contractor.jwt --key licensee --commitment {cg['licensee'].hex()}",
    )
    return parent, child


def _cosign(d: _Demo, led: Ledger, keys: dict[str, SigningKey]) -> int:
    """Sign a checkpoint and have the witness cosign it over loopback HTTP; returns its size.
    The witness server answers at most two requests (a 409 and the retry) and stops."""
    wdb = d.dir / "witness.db"
    if not wdb.exists():
        with Witness.create(
            wdb, WITNESS_NAME, keys["witness"], [led.log_vkey], key_name="witness"
        ) as w:
            d.write("witness.vkey", w.vkey + "\n")
    wvkey = (d.dir / "witness.vkey").read_text().strip()
    cp = led.checkpoint(keys["log"])
    server = make_witness_server(wdb, keys["witness"], "127.0.0.1", 0, max_requests=2)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        got = collect_cosignatures(led, [url], [CosignatureV1Verifier.from_vkey(wvkey)], 1)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    if not got.met:
        detail = "; ".join(r.detail for r in got.reports)
        raise MalformedError(f"demo: the witness did not cosign: {detail}")
    return cp.checkpoint.size


def _checkpoint(d: _Demo, led: Ledger, keys: dict[str, SigningKey]) -> None:
    size = _cosign(d, led, keys)
    d.step(
        "Cosigned checkpoint",
        f"The log signed a checkpoint of its {size} records (a C2SP signed note) and a witness "
        f"({WITNESS_NAME}) cosigned it over HTTP, after checking that the log only grew. The "
        "loopback witness server stopped by itself afterwards.",
        f"lic witness init --key witness --name {WITNESS_NAME} --log {ORIGIN}=log.vkey "
        "--db witness.db   # prints the witness key; it is saved in witness.vkey",
        "lic witness serve --db witness.db --port 8765 --max-requests 2 &",
        "lic ledger checkpoint --witness http://127.0.0.1:8765 --witness-key witness.vkey "
        "--quorum 1",
    )


MAX_AGE = 7 * DAY  # the verifier's policy: checkpoints up to a week old


def _policy(d: _Demo, keys: dict[str, SigningKey]) -> TrustPolicy:
    """The verifier's trust policy: the issuer, the log and the witness; quorum 1."""
    store = TrustStore()
    store.add(TrustEntry(keys["issuer"].public_key, "issuer", "issuer.example"))
    store.add(TrustEntry(keys["log"].public_key, "log", ORIGIN))
    store.add(TrustEntry(keys["witness"].public_key, "witness", WITNESS_NAME))
    d.write("witness.pem", keys["witness"].public_key.pem())
    store.save(d.dir / "verifier-trust.json")
    policy = TrustPolicy(store, 1, MAX_AGE)
    policy.save(d.dir / "policy.json")
    return policy


_EFFECT = {
    "deny": "DENIED",
    "indeterminate": "INDETERMINATE (not decidable)",
    "permit": "PERMITTED",
    "valid": "VALID",
    "invalid": "INVALID",
}
_USE_OK = "--action run --purpose research.academic --region DE --no-data"
_USE_BAD = "--action host --purpose enterprise --region DE --no-data"


def _verify(
    d: _Demo, bundle: bytes, policy: TrustPolicy, action: str, purpose: str
) -> BundleResult:
    """Verify as the verifier would, at its own clock (after the witness's timestamp)."""
    now = int(time.time())
    return verify_bundle(bundle, policy, now=now, use=_use(now, action, purpose))


def _use(now: int, action: str, purpose: str) -> lic.Use:
    return lic.Use(
        action=action,
        purpose=purpose,
        region="DE",
        data=frozenset(),
        model_digest=MODEL_SHA256,
        time=now,
    )


def _why(result: BundleResult) -> str:
    if result.decision is not None and result.decision.reasons:
        seen: list[str] = []
        for r in result.decision.reasons:
            text = f"{r.field}: {r.message} (got {r.actual})"
            if text not in seen:
                seen.append(text)
        return "; ".join(seen)
    failed = [c for c in result.checks if c.status == "fail"]
    return "; ".join(f"{c.name}: {c.detail}" for c in failed)


def _check_use(
    d: _Demo, led: Ledger, keys: dict[str, SigningKey], parent: bytes, child: bytes
) -> TrustPolicy:
    bundle = create_bundle(led, [parent, child])
    d.write("contractor.bundle", bundle)
    policy = _policy(d, keys)
    d.step(
        "Offline bundle",
        f"The issuer packed the contractor's license into one file, contractor.bundle "
        f"({len(bundle)} bytes): both tokens, the grant records with their inclusion proofs, "
        "the cosigned checkpoint and proofs that neither token is revoked. A verifier writes "
        "down whom it trusts (the issuer, the log and the witness, one cosignature needed, "
        "checkpoints at most a week old) in policy.json.",
        "lic bundle create contractor.jwt --chain licensee.jwt --out contractor.bundle",
        "lic keys export witness --format pem --output witness.pem",
        "lic trust add issuer.pem --role issuer --name issuer.example --trust verifier-trust.json",
        f"lic trust add log.vkey --role log --name {ORIGIN} --trust verifier-trust.json",
        f"lic trust add witness.pem --role witness --name {WITNESS_NAME} "
        "--trust verifier-trust.json",
        "lic policy create --trust verifier-trust.json --quorum 1 --max-age P7D --out policy.json",
    )
    good = _verify(d, bundle, policy, "run", "research.academic")
    if good.effect != "permit":
        raise MalformedError(f"demo: the permitted use was refused: {_why(good)}")
    duties = ", ".join(name for name, _ in good.decision.duties) if good.decision else ""
    d.step(
        "Offline check: permitted",
        "With no network, the verifier checked the bundle: the token chain from the trusted "
        "issuer, the log's signature and the witness's cosignature on the checkpoint, each "
        "grant's inclusion, and that no link is revoked. Running the model for academic "
        f"research was PERMITTED (duties: {duties or 'none'}).",
        f"lic verify --bundle contractor.bundle --policy policy.json {_USE_OK} "
        f"--model-digest {MODEL_SHA256}",
    )
    bad = _verify(d, bundle, policy, "host", "enterprise")
    if bad.effect == "permit":
        raise MalformedError("demo: the prohibited use was permitted")
    d.step(
        "Offline check: prohibited",
        f"Hosting the model for an enterprise product was {_EFFECT[bad.effect]}, because: "
        f"{_why(bad)}.",
        f"lic verify --bundle contractor.bundle --policy policy.json {_USE_BAD} "
        f"--model-digest {MODEL_SHA256}   # exits 1",
    )
    return policy


def _incident(
    d: _Demo, led: Ledger, keys: dict[str, SigningKey], parent: bytes, child: bytes
) -> int:
    responder, issuer = keys["responder"], keys["issuer"]
    anon = SigningKey.generate()
    desc = "The contractor hosts the model in a public chat app."
    report = {
        "at": d.now,
        "kind": "incident",
        "harms": ["privacy"],
        "severity": "high",
        "affected": [],
        "jurisdictions": ["DE"],
        "tokens": [lic.token_digest(child)],
        "description": desc,
        "signer": anon.public_key.raw,
    }
    inc = append_entry(led, "incident.report", report, anon, now=d.now).index
    append_entry(led, "incident.ack", {"at": d.now, "incident": inc}, responder, now=d.now)
    rev = {
        "at": d.now,
        "effective": d.now,
        "cascade": True,
        "tokens": [lic.token_digest(parent)],
        "reason": "prohibited_use",
        "incidents": [inc],
    }
    ri = append_entry(led, "revoke", rev, issuer, now=d.now).index
    rem = {"at": d.now, "incident": inc, "action": "License revoked.", "revocations": [ri]}
    append_entry(led, "incident.remediate", rem, responder, now=d.now)
    summary = "A sublicensee hosted the model publicly; the license chain was revoked."
    close = {"at": d.now, "incident": inc, "outcome": "remediated", "summary": summary}
    append_entry(led, "incident.close", close, responder, now=d.now)
    d.step(
        "Incident and revocation",
        f"Someone reported anonymously (record {inc}) that the contractor hosts the model in a "
        "public chat app. The responder acknowledged it; the issuer revoked the academic "
        f"license with everything below it (record {ri}); the incident was closed as "
        "remediated, with a public summary.",
        "lic ledger incident report --harm privacy --severity high --jurisdiction DE "
        f"--token contractor.jwt --description '{desc}' --anonymous",
        f"lic ledger incident ack {inc} --key responder",
        "lic ledger revoke --token licensee.jwt --reason prohibited_use "
        f"--incident {inc} --key issuer",
        f"lic ledger incident remediate {inc} --action 'License revoked.' --revocations {ri} "
        "--key responder",
        f"lic ledger incident close {inc} --outcome remediated --summary '{summary}' "
        "--key responder",
    )
    return ri


def _revoked(
    d: _Demo,
    led: Ledger,
    keys: dict[str, SigningKey],
    policy: TrustPolicy,
    parent: bytes,
    child: bytes,
    rev: int,
) -> None:
    size = _cosign(d, led, keys)
    d.step(
        "New cosigned checkpoint",
        f"The log signed a checkpoint of all {size} records, now including the revocation, and "
        "the witness cosigned it after checking a consistency proof from the one it cosigned "
        "before.",
        "lic witness serve --db witness.db --port 8765 --max-requests 2 &",
        "lic ledger checkpoint --witness http://127.0.0.1:8765 --witness-key witness.vkey "
        "--quorum 1",
    )
    st = token_status(led, lic.token_digest(child), d.now)
    if st.status != "revoked" or rev not in st.evidence:
        raise MalformedError(f"demo: the contractor's token is {st.status}, not revoked")
    bundle = create_bundle(led, [parent, child])
    d.write("contractor-now.bundle", bundle)
    res = _verify(d, bundle, policy, "run", "research.academic")
    if res.effect != "invalid" or res.reason != "revoked":
        raise MalformedError(f"demo: the bundle did not fail as revoked: {res.effect}")
    d.step(
        "Revoked",
        f"A bundle made from the new checkpoint now fails offline as {_EFFECT[res.effect]} "
        f"({res.reason}), even for the use permitted before: {_why(res)}. The ledger says the "
        f"same: the sublicense is revoked through its parent (record {rev}).",
        "lic bundle create contractor.jwt --chain licensee.jwt --out contractor-now.bundle",
        f"lic verify --bundle contractor-now.bundle --policy policy.json {_USE_OK} "
        f"--model-digest {MODEL_SHA256}   # exits 1: revoked",
        "lic ledger status contractor.jwt   # exits 1: revoked",
    )


def _audit_and_report(d: _Demo, *, small: bool) -> None:
    report, result = replay_report(db=d.db)
    if result.findings:
        raise MalformedError(f"demo: the audit found problems: {result.findings[0]}")
    out = d.dir / "report"
    write_report(report, out)
    d.result.records, d.result.clean, d.result.report_dir = result.size, True, out
    d.step(
        "Audit",
        f"An auditor replayed all {result.size} records from the first one: every signature, "
        "author role, hash chain link, Merkle root and checkpoint checked out, CLEAN.",
        "lic ledger audit",
    )
    d.step(
        "Transparency report",
        f"Wrote the public transparency report (from the replay) to {out}/index.html and "
        f"{out}/report.json; anyone replaying the same ledger gets the same report.json. "
        f"Counts below {report['parameters']['k']} are withheld so that no one can be singled "
        f"out ({report['suppression']['suppressed_cells']} cells here)"
        + (": 'lic demo --scale 100000' makes a report with numbers." if small else "."),
        "lic ledger report --out report",
    )


def scale_demo(
    directory: Path,
    n: int,
    *,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
    on_step: Callable[[DemoStep], None] | None = None,
) -> DemoResult:
    """Fill a fresh ledger in ``directory`` with ``n`` synthetic records, audit it and write the
    report on it."""
    started = time.perf_counter()
    if n < 1:
        raise MalformedError("demo: --scale needs at least one record")
    if directory.exists() and any(directory.iterdir()):
        raise MalformedError(f"demo: {directory} is not empty; give a new or empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    d = _Demo(directory, on_step)
    log = d.key("log")
    with Ledger.create(d.db, ORIGIN, log, log_key_name="log") as led:
        synthesize(led, n, log_key=log, seed=seed, progress=progress)
        led.checkpoint(log)
        first, last = (led.record(i).time for i in (0, n - 1))
    d.step(
        "Synthetic ledger",
        f"Filled ledger.db with {n} realistic records of every entry type (requests, "
        "decisions, appeals, grants, revocations, incidents, attestations, terms), from "
        f"{time_text(first)} to {time_text(last)}, and signed a checkpoint.",
    )
    _audit_and_report(d, small=False)
    d.result.seconds = time.perf_counter() - started
    return d.result
