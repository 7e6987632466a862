"""Offline license bundles (SPEC 10): make one from a ledger, verify one with no network.

A bundle is ``lic-bundle/v1\\n`` followed by one deterministic CBOR map holding the cosigned
checkpoint note and, for every link of a token chain (root first), the token, the
tlog-proof@v1 receipt of its grant record at the checkpoint's exact size, and a
``lic-absent/v2`` proof (``lic-absent/v1`` for a checkpoint with the legacy line) against the
checkpoint's revoked-set commitment (SPEC 12).
``verify_bundle`` is pure: bytes, a policy and ``now`` in, an explaining result out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import lic
from keys import PublicKey, duration_text, jwk_thumbprint
from keys.errors import ExpiredError, LicError, MalformedError, RevokedError
from lic import cbor

from ..entries import Record, open_entry, receipt_record
from ..state import revoked_set_in, status_at
from ..tlog import (
    MAX_ABSENCE_PROOF_SIZE,
    MAX_NOTE_SIZE,
    CosignatureV1Verifier,
    SignedCheckpoint,
    VerifiedNote,
    find_revset_commitment,
    open_checkpoint,
    parse_checkpoint,
    parse_note,
    parse_receipt,
    verify_not_revoked,
    verify_receipt_inclusion,
)
from ._envelope import open_envelope
from ._policy import TrustPolicy
from ._update import (
    BundleUpdate,
    check_held_absent,
    check_held_consistency,
    encode_update,
    parse_update,
)

if TYPE_CHECKING:
    from ..state import LedgerState
    from ..store import Ledger

__all__ = [
    "BUNDLE_MAGIC",
    "MAX_BUNDLE_SIZE",
    "Bundle",
    "BundleCheck",
    "BundleLink",
    "BundleResult",
    "ProofSource",
    "bundle_links",
    "create_bundle",
    "create_update",
    "encode_bundle",
    "parse_bundle",
    "verify_bundle",
]

BUNDLE_MAGIC = b"lic-bundle/v1\n"
MAX_BUNDLE_SIZE = 2 * 1024 * 1024
MAX_LINKS = 17
MAX_BUNDLE_RECEIPT = 128 * 1024
CHECK_NAMES = (
    "chain",
    "checkpoint",
    "witnesses",
    "freshness",
    "inclusion",
    "grants",
    "non-revocation",
    "held-checkpoint",  # these three only when the verifier holds a checkpoint (SPEC 10.6)
    "consistency",
    "held-non-revocation",
    "use",
)


@dataclass(frozen=True, slots=True)
class BundleLink:
    """One link of a bundle: the token as transmitted, the tlog-proof@v1 receipt of its grant
    record, and the ``lic-absent`` proof (of the checkpoint line's version) that it is not in
    the revoked set."""

    token: bytes
    receipt: bytes
    absent: bytes


@dataclass(frozen=True, slots=True)
class Bundle:
    """A parsed bundle: the cosigned checkpoint note and the links, root first."""

    checkpoint: bytes
    links: tuple[BundleLink, ...]


def _bytes(value: Any, what: str, cap: int) -> bytes:
    if not isinstance(value, bytes):
        raise MalformedError(f"bundle: {what} must be a byte string")
    if not 0 < len(value) <= cap:
        raise MalformedError(f"bundle: {what} must hold 1..{cap} bytes")
    return value


def _map(value: Any, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise MalformedError(f"bundle: {what} must be a map with exactly {sorted(keys)}")
    return value


def parse_bundle(data: bytes) -> Bundle:
    """Parse a bundle strictly (SPEC 10.1); MalformedError on anything else."""
    not_it = "does not start with 'lic-bundle/v1' (not a v1 bundle)"
    doc = open_envelope(data, BUNDLE_MAGIC, MAX_BUNDLE_SIZE, "bundle", not_it)
    doc = _map(doc, {"checkpoint", "links"}, "the body")
    note = _bytes(doc["checkpoint"], "checkpoint", MAX_NOTE_SIZE)
    links = doc["links"]
    if not isinstance(links, list) or not 1 <= len(links) <= MAX_LINKS:
        raise MalformedError(f"bundle: links must be an array of 1..{MAX_LINKS}")
    out = []
    for i, item in enumerate(links):
        m = _map(item, {"token", "receipt", "absent"}, f"link {i}")
        out.append(
            BundleLink(
                _bytes(m["token"], f"link {i} token", lic.MAX_TOKEN_SIZE),
                _bytes(m["receipt"], f"link {i} receipt", MAX_BUNDLE_RECEIPT),
                _bytes(m["absent"], f"link {i} absent", MAX_ABSENCE_PROOF_SIZE),
            )
        )
    return Bundle(note, tuple(out))


def encode_bundle(bundle: Bundle) -> bytes:
    """The bytes of ``bundle`` (SPEC 10.1): the magic line and its deterministic CBOR."""
    body = {
        "checkpoint": bundle.checkpoint,
        "links": [
            {"token": x.token, "receipt": x.receipt, "absent": x.absent} for x in bundle.links
        ],
    }
    out = BUNDLE_MAGIC + cbor.encode(body)
    if len(out) > MAX_BUNDLE_SIZE:
        raise MalformedError(f"bundle: larger than {MAX_BUNDLE_SIZE} bytes")
    return out


def create_bundle(
    ledger: Ledger, token_chain: Sequence[bytes | str], *, size: int | None = None
) -> bytes:
    """A bundle for ``token_chain`` (root first) at the ledger's latest checkpoint (or the one
    of ``size``), with the cosignatures stored for it. Every link must be granted by a record
    the checkpoint covers. A revoked link still gets its evidence (a membership neighbour),
    so the bundle is made and its verification says "revoked"."""
    if not token_chain:
        raise MalformedError("bundle: no tokens")
    if len(token_chain) > MAX_LINKS:
        raise MalformedError(f"bundle: at most {MAX_LINKS} links")
    tokens = [t.encode("ascii") if isinstance(t, str) else bytes(t) for t in token_chain]
    cp: SignedCheckpoint | None = ledger.cosigned_checkpoint(size)
    if cp is None:
        raise MalformedError(
            "bundle: the ledger has no such checkpoint (run 'lic ledger checkpoint')"
        )
    n = cp.checkpoint.size
    commitment = find_revset_commitment(cp.checkpoint.extensions)
    if commitment is None:
        raise MalformedError(
            f"bundle: the checkpoint of size {n} has no lic-revoked line; sign a newer one"
        )
    state = ledger.state_at(n)
    revset = revoked_set_in(state.conn, commitment.version)  # v2: from the stored tree
    if revset.commitment != commitment:
        raise MalformedError("bundle: the checkpoint's revoked-set line differs from the ledger's")
    links = bundle_links(
        tokens,
        state,
        revset,
        lambda index: ledger.receipt(index, cp),
        f"below size {n} (grant it, then sign a new checkpoint)",
    )
    return encode_bundle(Bundle(cp.note, links))


class ProofSource(Protocol):
    """What gives a link's revoked-set proof: a revoked set of either version, in memory or
    read from the stored tree."""

    def proof_text(self, digest: bytes) -> bytes:
        """The absence (or, for a member, membership) proof text for ``digest``."""
        ...


def bundle_links(
    tokens: Sequence[bytes],
    state: LedgerState,
    revset: ProofSource,
    receipt: Callable[[int], bytes],
    where: str,
) -> tuple[BundleLink, ...]:
    """A bundle's links (SPEC 10.1) for ``tokens`` (root first): each token with the receipt
    of its grant in ``state`` (``receipt(index)``) and its revoked-set proof from ``revset``.
    MalformedError naming the link when a token has no grant (``where`` says below what)."""
    links = []
    for i, tok in enumerate(tokens):
        d = lic.token_digest(tok)
        g = state.grants.get(d)
        if g is None:
            raise MalformedError(
                f"bundle: link {i} (token {d.hex()[:16]}...) is not granted by a record {where}"
            )
        links.append(BundleLink(tok, receipt(g.index), revset.proof_text(d)))
    return tuple(links)


def create_update(ledger: Ledger, bundle_bytes: bytes, *, size: int | None = None) -> bytes:
    """An update (SPEC 10.6) tying ``bundle_bytes`` to the ledger's latest checkpoint (or the
    one of ``size``): the consistency proof between the two trees and, when that checkpoint is
    the newer, a revoked-set proof per link against its lic-revoked line. A revoked link
    gets its membership proof, so the update is made and verification says "revoked"."""
    b = parse_bundle(bundle_bytes)
    old = parse_checkpoint(parse_note(b.checkpoint).text)
    cp = ledger.latest_checkpoint() if size is None else ledger.checkpoint_at(size)
    if cp is None:
        raise MalformedError("bundle update: the ledger has no such checkpoint")
    new = cp.checkpoint
    if old.origin != ledger.origin or old.size > ledger.size or ledger.root(old.size) != old.root:
        raise MalformedError("bundle update: the bundle's checkpoint is not a tree of this ledger")
    small, large = sorted((old.size, new.size))
    proof = ledger.consistency_proof(small, large) if 0 < small < large else []
    absent: list[bytes] = []
    if new.size > old.size:
        commitment = find_revset_commitment(new.extensions)
        state = ledger.state_at(new.size)
        revset = revoked_set_in(state.conn, 2 if commitment is None else commitment.version)
        if commitment is None or revset.commitment != commitment:
            raise MalformedError(
                f"bundle update: the checkpoint of size {new.size} has no lic-revoked line "
                "equal to the ledger's set; sign a newer one"
            )
        absent = [revset.proof_text(lic.token_digest(x.token)) for x in b.links]
    return encode_update(BundleUpdate(old.size, new.size, tuple(proof), tuple(absent)))


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BundleCheck:
    """One check: ``status`` is pass, fail or skip (it could not run: an earlier one failed)."""

    name: str
    status: str
    detail: str
    reason: str | None = None  # the refusal's name when failed (e.g. "revoked")

    def to_dict(self) -> dict[str, Any]:
        """The check as JSON-ready values."""
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class BundleResult:
    """The outcome of ``verify_bundle``.

    ``effect``: ``permit``/``deny``/``indeterminate`` (every check passed, the use evaluated),
    ``valid`` (every check passed, no use given) or ``invalid`` (a check failed; ``reason``
    names it: chain, expired, not_yet_valid, checkpoint, witnesses, stale, inclusion, grants,
    revoked, non-revocation). ``status``: the leaf's status at ``now`` (SPEC 14.5) as far as
    the bundle shows it (10.4), None when a failed check leaves it unknown.
    """

    effect: str
    reason: str | None
    checks: tuple[BundleCheck, ...]
    decision: lic.Decision | None = None
    checkpoint_size: int | None = None
    digests: tuple[bytes, ...] = field(default=())
    status: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the effect is ``permit`` or ``valid``."""
        return self.effect in ("permit", "valid")

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values (what ``lic verify --json`` prints)."""
        out: dict[str, Any] = {
            "effect": self.effect,
            "reason": self.reason,
            "checks": [c.to_dict() for c in self.checks],
            "checkpoint_size": self.checkpoint_size,
            "chain": [d.hex() for d in self.digests],
            "status": self.status,
        }
        if self.decision is not None:
            out["decision"] = self.decision.to_dict()
        return out


class _Checks:
    def __init__(self) -> None:
        self.items: list[BundleCheck] = []

    def ok(self, name: str, detail: str) -> None:
        self.items.append(BundleCheck(name, "pass", detail))

    def fail(self, name: str, detail: str, reason: str | None = None) -> None:
        self.items.append(BundleCheck(name, "fail", detail, reason or name))

    def skip(self, name: str, detail: str) -> None:
        self.items.append(BundleCheck(name, "skip", detail))

    @property
    def failed(self) -> BundleCheck | None:
        return next((c for c in self.items if c.status == "fail"), None)


def verify_bundle(
    bundle_bytes: bytes,
    policy: TrustPolicy,
    *,
    now: int,
    use: lic.Use | None = None,
    held_checkpoint: bytes | None = None,
    update: bytes | None = None,
) -> BundleResult:
    """Check a bundle offline against ``policy`` at ``now`` (SPEC 10.4; with a newer
    ``held_checkpoint`` and its ``update``, 10.6); then evaluate ``use``. Raises MalformedError
    when the bundle or update does not parse (SPEC 10.1, 10.6); every other problem is a
    failed check in the result. No I/O, no clock."""
    b, upd = parse_bundle(bundle_bytes), _parse_held(held_checkpoint, update)
    c = _Checks()
    tokens = [x.token for x in b.links]
    digests = tuple(lic.token_digest(t) for t in tokens)
    # 1. the token chain
    chain: lic.Chain | None = None
    window: str | None = None  # the leaf's status by its validity window alone
    try:
        chain = lic.verify_chain(tokens, policy.trust, now=now)
        c.ok("chain", f"{len(tokens)} link(s) verify from a trusted issuer key, each narrowing")
    except ExpiredError as e:
        window = _window_status(tokens[-1], now)
        c.fail("chain", str(e), window or "chain")
    except LicError as e:
        c.fail("chain", str(e))
    # 2. the checkpoint's log signature (witness lines by policy keys must verify too)
    witnesses = policy.witness_verifiers(now)
    verified: VerifiedNote | None = None
    signed: SignedCheckpoint | None = None
    log = None
    try:
        first = b.checkpoint.split(b"\n", 1)[0]  # the origin; open_checkpoint checks it
        log = policy.log_verifier(first.decode("utf-8", "replace"), now)
        signed, verified = open_checkpoint(b.checkpoint, log, witnesses)
        c.ok("checkpoint", f"size {signed.checkpoint.size} signed by the log {log.name}")
    except LicError as e:
        c.fail("checkpoint", str(e))
    # 3. witness quorum and 4. freshness
    if verified is None or signed is None:
        c.skip("witnesses", "no verified checkpoint")
        c.skip("freshness", "no verified checkpoint")
    else:
        _witness_checks(c, policy, witnesses, verified, now)
    # 5. inclusion of every grant record and 6. each grants its link
    records = []
    if signed is None or log is None:
        c.skip("inclusion", "no verified checkpoint")
    else:
        try:
            cp = signed.checkpoint
            for i, x in enumerate(b.links):
                records.append(_included(i, x.receipt, b.checkpoint, cp.size, cp.root))
            idx = ", ".join(str(r.index) for r in records)
            c.ok(
                "inclusion", f"grant records {idx} are in the tree of size {signed.checkpoint.size}"
            )
        except LicError as e:
            records = []
            c.fail("inclusion", str(e))
    if chain is None or not records:
        c.skip("grants", "needs a verified chain and included records")
    else:
        try:
            issuer = policy.trust.lookup(chain.root.kid, "issuer", now)
            _check_grants(chain, issuer, records)
            c.ok("grants", "each record grants its link (digest, holder key, parent, author)")
        except LicError as e:
            c.fail("grants", str(e))
    # 7. non-revocation of every link
    if signed is None:
        c.skip("non-revocation", "no verified checkpoint")
    else:
        _revocation_check(c, signed, b, digests)
    _held_checks(c, signed, log, witnesses, held_checkpoint, upd, digests)  # 7a-7c (10.6)
    # 8. the use
    failed = c.failed
    size = signed.checkpoint.size if signed is not None else None
    if failed is not None or chain is None:
        c.skip("use", "a check failed")
        reason = failed.reason if failed is not None else "chain"
        revoked = any(x.reason == "revoked" for x in c.items)
        status = "revoked" if revoked else window
        return BundleResult("invalid", reason, tuple(c.items), None, size, digests, status)
    status = status_at(now, chain.leaf.nbf, chain.leaf.exp)
    if use is None:
        c.skip("use", "no use given")
        return BundleResult("valid", None, tuple(c.items), None, size, digests, status)
    decision = lic.evaluate(chain.leaf, use)
    detail = decision.effect + "".join(f"; {r.message}" for r in decision.reasons)
    if decision.effect == "permit":
        c.ok("use", detail)
    else:
        c.fail("use", detail, decision.effect)
    reason = None if decision.effect == "permit" else decision.effect
    return BundleResult(decision.effect, reason, tuple(c.items), decision, size, digests, status)


def _window_status(token: bytes, now: int) -> str | None:
    """The leaf's status by its own validity window (SPEC 14.5) once the chain refused a
    link's times: ``expired`` or ``not_yet_valid`` (a link's window lies inside its parent's,
    so the leaf's window decides); None when the window holds ``now`` (the refusal had another
    cause, such as an issue time in the future) or the leaf does not decode. It only names
    the reason of an invalid result, so reading the times unverified gives nothing away."""
    try:
        t = lic.decode_unverified(token)
    except LicError:
        return None
    status = status_at(now, t.nbf, t.exp)
    return None if status == "active" else status


def _included(i: int, data: bytes, note: bytes, size: int, root: bytes) -> Record:
    """A receipt (9.2) whose note is the bundle's checkpoint, already verified: its record
    at its index in the tree of (size, root)."""
    try:
        receipt = parse_receipt(data)
        if receipt.checkpoint_note != note:
            raise MalformedError("the receipt's checkpoint is not the bundle's")
        record = receipt_record(receipt)
        verify_receipt_inclusion(receipt, size, root, record.raw)
    except LicError as e:
        raise type(e)(f"link {i}: {e}") from e
    return record


def _witness_checks(
    c: _Checks,
    policy: TrustPolicy,
    witnesses: list[CosignatureV1Verifier],
    note: VerifiedNote,
    now: int,
) -> None:
    if policy.no_witnesses:
        c.ok("witnesses", "log alone, no witness quorum (the policy trusts no witness)")
        c.skip("freshness", "log alone, no witness quorum: no cosignature dates the checkpoint")
        return
    times: list[tuple[int, str]] = []
    future: list[str] = []
    for w in witnesses:
        sig = next((s for s in note.verified if (s.name, s.key_hash) == (w.name, w.key_hash)), None)
        if sig is None:
            continue
        ts = int.from_bytes(sig.signature[:8], "big")  # verified by open_checkpoint (13.2)
        if ts > now:
            future.append(w.name)
        else:
            times.append((ts, w.name))
    k, n = policy.quorum, policy.witness_count
    names = ", ".join(sorted(name for _, name in times)) or "none"
    if len(times) < k:
        extra = f" (timestamps in the future: {', '.join(future)})" if future else ""
        c.fail(
            "witnesses", f"{len(times)} of {n} policy witnesses cosigned, need {k}: {names}{extra}"
        )
        c.skip("freshness", "no witness quorum")
        return
    c.ok("witnesses", f"{len(times)} of {n} policy witnesses cosigned (need {k}): {names}")
    kth = sorted((t for t, _ in times), reverse=True)[k - 1]
    age = now - kth
    if age <= policy.max_age:
        c.ok(
            "freshness",
            f"cosigned by a quorum {duration_text(age)} ago (max {duration_text(policy.max_age)})",
        )
    else:
        c.fail(
            "freshness",
            f"the checkpoint is stale: a quorum last cosigned it {duration_text(age)} ago "
            f"(max {duration_text(policy.max_age)})",
            "stale",
        )


def _check_grants(chain: lic.Chain, issuer: PublicKey, records: list[Any]) -> None:
    links = chain.links
    for i, (tok, rec) in enumerate(zip(links, records, strict=True)):
        if rec.entry_type != "grant":
            raise MalformedError(f"link {i}: record {rec.index} is a {rec.entry_type}, not a grant")
        entry = open_entry(rec)
        p = entry.payload
        if not isinstance(p, dict):
            raise MalformedError(f"link {i}: grant payload is not a map")
        if p.get("token_digest") != tok.digest:
            raise MalformedError(f"link {i}: record {rec.index} grants another token")
        if p.get("holder") != tok.holder.raw:
            raise MalformedError(f"link {i}: record {rec.index} names another holder key")
        parent = links[i - 1].digest if i else None
        if p.get("parent") != parent:
            raise MalformedError(f"link {i}: record {rec.index} names another parent")
        # the author: the issuer key that signed the root token, or the parent's holder key
        author: PublicKey = links[i - 1].holder if i else issuer
        if entry.kid != jwk_thumbprint(author.raw):
            raise MalformedError(f"link {i}: record {rec.index} is not authored by the grantor")
        try:
            author.verify(entry.signature, entry.to_be_signed)
        except LicError as e:
            raise type(e)(f"link {i}: record {rec.index}: entry signature: {e}") from e


def _parse_held(note: bytes | None, update: bytes | None) -> BundleUpdate | None:
    if update is not None and note is None:
        raise MalformedError("bundle update: given without the checkpoint it leads to")
    return parse_update(update) if update is not None else None


def _held_checks(
    c: _Checks,
    signed: SignedCheckpoint | None,
    log: Any,
    witnesses: list[CosignatureV1Verifier],
    note: bytes | None,
    update: BundleUpdate | None,
    digests: tuple[bytes, ...],
) -> None:
    """SPEC 10.6: the held note verifies under the log key; the update shows it consistent
    with the bundle's checkpoint and, when newer, that no link is in its revoked set. No
    held note: no checks."""
    if note is None:
        return
    if signed is None or log is None:
        for name in ("held-checkpoint", "consistency", "held-non-revocation"):
            c.skip(name, "no verified bundle checkpoint")
        return
    try:
        held, _ = open_checkpoint(note, log, witnesses)
        c.ok("held-checkpoint", f"size {held.checkpoint.size} signed by the log {log.name}")
    except LicError as e:
        c.fail("held-checkpoint", str(e))
        c.skip("consistency", "no verified held checkpoint")
        c.skip("held-non-revocation", "no verified held checkpoint")
        return
    if update is None:
        missing = "no update for the held checkpoint (make one with 'lic bundle update')"
        c.fail("consistency", missing)
        c.fail("held-non-revocation", missing)
        return
    try:
        c.ok("consistency", check_held_consistency(update, signed.checkpoint, held.checkpoint))
    except LicError as e:
        c.fail("consistency", str(e))
        c.skip("held-non-revocation", "the held checkpoint is not shown consistent")
        return
    try:
        c.ok("held-non-revocation", check_held_absent(update, held.checkpoint, digests))
    except RevokedError as e:
        c.fail("held-non-revocation", str(e), "revoked")
    except LicError as e:
        c.fail("held-non-revocation", str(e))


def _revocation_check(
    c: _Checks, signed: SignedCheckpoint, b: Bundle, digests: tuple[bytes, ...]
) -> None:
    try:
        commitment = find_revset_commitment(signed.checkpoint.extensions)
    except LicError as e:
        c.fail("non-revocation", f"the checkpoint's lic-revoked line: {e}")
        return
    if commitment is None:
        c.fail("non-revocation", "the checkpoint makes no revocation statement (no lic-revoked)")
        return
    for i, (x, d) in enumerate(zip(b.links, digests, strict=True)):
        try:
            verify_not_revoked(commitment, d, x.absent)
        except RevokedError:
            c.fail(
                "non-revocation",
                f"link {i} (token {d.hex()[:16]}...) is revoked or suspended as of size "
                f"{signed.checkpoint.size}",
                "revoked",
            )
            return
        except LicError as e:
            c.fail("non-revocation", f"link {i}: {e}")
            return
    c.ok(
        "non-revocation",
        f"no link is in the revoked set ({commitment.size} members) at size "
        f"{signed.checkpoint.size}",
    )
