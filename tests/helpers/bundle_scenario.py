"""A licensing scenario for the bundle tests and bench: a log, an issuer registered on it, a
root license granted to a licensee, a sublicense (and a sub-sublicense) granted by the holders,
checkpoints cosigned by witnesses, and the verifier's trust policy. Fixed seeds throughout."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import lic
from helpers.paths import ROOT as ROOT_DIR
from keys import SigningKey, TrustEntry, TrustStore
from ledger.bundle import TrustPolicy
from ledger.entries import commitment, grant_payload
from ledger.store import Ledger, append_entry
from ledger.tlog import cosign, parse_note

ORIGIN = "example.com/lic-log"
T0 = 1_780_000_000  # issuance time
LIFETIME = 30 * 86400
MAX_AGE = 3600


def key(label: str) -> SigningKey:
    return SigningKey.from_seed(
        hashlib.sha256(b"lic-ledger bundle test " + label.encode()).digest()
    )


LOG = key("log")
ISSUER = key("issuer")
HOLDER = key("licensee")
CONTRACTOR = key("sublicensee")
SUBCONTRACTOR = key("sub-sublicensee")
WITNESS_KEYS = tuple(key(f"witness {i}") for i in range(3))
WITNESS_NAMES = tuple(f"witness.example/w{i + 1}" for i in range(3))


def _narrower(license: lic.License, **changes: object) -> lic.License:
    claim = license.to_claim()
    claim.pop("parent", None)
    claim.update(changes)
    return lic.License.from_mapping(claim, known_codes=True)


ROOT_LICENSE = lic.load_license((ROOT_DIR / "examples" / "commercial-geofenced.toml").read_bytes())
CHILD_LICENSE = _narrower(
    ROOT_LICENSE,
    permit={**ROOT_LICENSE.to_claim()["permit"], "regions": ["DE", "AT"]},
    sublicense={"allowed": True, "max_depth": 1},
)
GRANDCHILD_LICENSE = _narrower(CHILD_LICENSE, sublicense={"allowed": False, "max_depth": 0})


def policy(quorum: int = 2, max_age: int = MAX_AGE) -> TrustPolicy:
    entries = [
        TrustEntry(ISSUER.public_key, "issuer", "issuer.example"),
        TrustEntry(LOG.public_key, "log", ORIGIN),
    ]
    pairs = zip(WITNESS_KEYS, WITNESS_NAMES, strict=True)
    entries += [TrustEntry(k.public_key, "witness", n) for k, n in pairs]
    return TrustPolicy(TrustStore(entries), quorum, max_age)


def trust() -> TrustStore:
    return TrustStore([TrustEntry(ISSUER.public_key, "issuer", "issuer.example")])


@dataclass
class Scenario:
    path: Path | str  # a file, or a PostgreSQL URL
    led: Ledger
    tokens: list[bytes] = field(default_factory=list)  # root, child, grandchild
    t: int = T0

    def append(self, etype: str, payload: dict, author: SigningKey) -> int:
        self.t += 1
        a = append_entry(self.led, etype, {"at": self.t, **payload}, author, now=self.t)
        return a.index

    def grant(self, token: bytes, author: SigningKey, who: bytes) -> int:
        vt = lic.decode_unverified(token)
        payload = grant_payload(vt, commitment(b"salt of sixteen!", who.decode()), at=0)
        payload.pop("at")
        return self.append("grant", payload, author)

    def revoke(self, token: bytes, *, kind: str = "revoke") -> int:
        payload = {
            "tokens": [lic.token_digest(token)],
            "reason": "prohibited_use",
            "effective": self.t,
            "cascade": True,
        }
        return self.append(kind, payload, ISSUER)

    def checkpoint(self, cosigned_at: int, witnesses: tuple[int, ...] = (0, 1)) -> int:
        """Sign a checkpoint and store offline cosignatures by the given witnesses."""
        cp = self.led.checkpoint(LOG)
        text = parse_note(cp.note).text
        lines = [cosign(text, WITNESS_KEYS[i], WITNESS_NAMES[i], cosigned_at) for i in witnesses]
        if lines:
            self.led.add_cosignatures(cp.checkpoint.size, lines)
        return cp.checkpoint.size


def build(path: Path | str, *, links: int = 2) -> Scenario:
    """Issuer grants the root; the licensee sublicenses; (links=3) the sublicensee too."""
    led = Ledger.create(path, ORIGIN, LOG)
    s = Scenario(path, led)
    s.append("key.add", {"key": ISSUER.public_key.raw, "role": "issuer", "name": "issuer"}, LOG)
    root = lic.issue(
        ROOT_LICENSE, ISSUER, HOLDER.public_key, iss="issuer.example", sub="licensee",
        now=T0, lifetime=LIFETIME,
    )  # fmt: skip
    s.tokens.append(root)
    s.grant(root, ISSUER, b"licensee")
    child = lic.delegate(
        root, CHILD_LICENSE, HOLDER, CONTRACTOR.public_key, sub="sublicensee", now=T0 + 10
    )
    s.tokens.append(child)
    s.grant(child, HOLDER, b"sublicensee")
    if links >= 3:
        grand = lic.delegate(
            child, GRANDCHILD_LICENSE, CONTRACTOR, SUBCONTRACTOR.public_key, sub="sub-sub",
            now=T0 + 20,
        )  # fmt: skip
        s.tokens.append(grand)
        s.grant(grand, CONTRACTOR, b"sub-sublicensee")
    return s
