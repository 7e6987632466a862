"""Trust policy for offline bundle verification (SPEC 10.3). Pure: parses bytes, no I/O.

A policy names the keys a verifier trusts (a trust store, SPEC 3: issuer, log and witness
entries), how many distinct witnesses must have cosigned a checkpoint (k of the n witness
entries) and how old the checkpoint may be.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keys import TrustEntry, TrustStore, json_loads_strict, write_atomic
from keys.errors import KeyStoreError, MalformedError, UntrustedKeyError

from ..tlog import CosignatureV1Verifier, Ed25519NoteVerifier, open_checkpoint

__all__ = ["MAX_POLICY_SIZE", "POLICY_FORMAT", "TrustPolicy", "parse_policy"]

POLICY_FORMAT = "lic-policy/v1"
MAX_POLICY_SIZE = 1024 * 1024
MAX_AGE_LIMIT = 10 * 365 * 24 * 3600  # ten years, in seconds


@dataclass(frozen=True)
class TrustPolicy:
    """What a bundle verifier trusts. ``trust`` holds issuer, log and witness keys.

    A policy with no witness keys must say so (``no_witnesses``, quorum 0): it then believes
    the log's signature alone, and says so, rather than being empty by accident."""

    trust: TrustStore
    quorum: int
    max_age: int
    no_witnesses: bool = False
    _logs: dict[str, tuple[TrustEntry, Ed25519NoteVerifier]] = field(
        init=False, repr=False, compare=False
    )
    _witnesses: list[tuple[TrustEntry, CosignatureV1Verifier]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        n = len(self.trust.by_role("witness"))
        if isinstance(self.quorum, bool) or not isinstance(self.quorum, int):
            raise MalformedError("policy: quorum must be an integer")
        self._check_witness_rule(n)
        if isinstance(self.max_age, bool) or not isinstance(self.max_age, int):
            raise MalformedError("policy: max_age must be an integer")
        if not 1 <= self.max_age <= MAX_AGE_LIMIT:
            raise MalformedError(f"policy: max_age must lie in 1..{MAX_AGE_LIMIT} seconds")
        if not self.trust.by_role("log"):
            raise MalformedError("policy: no log key (a trust entry with role 'log')")
        # verifiers built once (key ids are hashes of name and key): verification is hot
        logs = {
            e.name: (e, Ed25519NoteVerifier(e.name, e.public_key))
            for e in self.trust.by_role("log")
        }
        wits = [
            (e, CosignatureV1Verifier(e.name, e.public_key)) for e in self.trust.by_role("witness")
        ]
        object.__setattr__(self, "_logs", logs)
        object.__setattr__(self, "_witnesses", wits)

    def _check_witness_rule(self, n: int) -> None:
        if not isinstance(self.no_witnesses, bool):
            raise MalformedError("policy: no_witnesses must be true when present")
        if self.no_witnesses:
            if n:
                raise MalformedError(
                    f"policy: no_witnesses, yet the trust store has {n} witness key(s)"
                )
            if self.quorum != 0:
                raise MalformedError("policy: quorum must be 0 when no_witnesses is true")
            return
        if n == 0:
            raise MalformedError(
                "policy: the trust store has no witness keys (role 'witness'); a policy that "
                "believes the log alone must say so (no_witnesses: true, quorum 0)"
            )
        if not 1 <= self.quorum <= n:
            raise MalformedError(f"policy: quorum must lie in 1..{n} (the witness keys)")

    def log_verifier(self, origin: str, now: int) -> Ed25519NoteVerifier:
        """The note verifier of the log named ``origin`` (its trust entry's name), valid now."""
        found = self._logs.get(origin)
        if found is None:
            raise UntrustedKeyError(f"policy: no trusted log key for origin {origin!r}")
        entry, verifier = found
        if not entry.valid_at(now):
            raise UntrustedKeyError(f"policy: the log key {origin!r} is not valid now")
        return verifier

    def witness_verifiers(self, now: int) -> list[CosignatureV1Verifier]:
        """Verifiers of the witness entries valid at ``now``."""
        return [v for e, v in self._witnesses if e.valid_at(now)]

    def witnessed_by(self, note: bytes, now: int) -> tuple[str, ...]:
        """Check a checkpoint note (a receipt's, a bundle's) against this policy's witness
        rule: it verifies under the log key of its origin, and at least ``quorum`` policy
        witnesses valid at ``now`` cosigned it with a timestamp not after ``now``. Returns
        their names; UntrustedKeyError (or the note's own error) otherwise. Freshness
        (``max_age``) is the caller's: a receipt proves a past inclusion."""
        log = self.log_verifier(note.split(b"\n", 1)[0].decode("utf-8", "replace"), now)
        witnesses = self.witness_verifiers(now)
        _, verified = open_checkpoint(note, log, witnesses)
        keys = {(w.name, w.key_hash) for w in witnesses}
        names = sorted(
            {
                s.name
                for s in verified.verified
                if (s.name, s.key_hash) in keys and int.from_bytes(s.signature[:8], "big") <= now
            }
        )
        if len(names) < self.quorum:
            raise UntrustedKeyError(
                f"witnesses: {len(names)} of {self.witness_count} policy witnesses cosigned, "
                f"need {self.quorum}"
            )
        return tuple(names)

    @property
    def witness_count(self) -> int:
        """The number of witness keys the policy trusts (the n of k-of-n)."""
        return len(self.trust.by_role("witness"))

    def dumps(self) -> bytes:
        """The policy file (SPEC.md section 10.3) as indented UTF-8 JSON with a final newline."""
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode()

    def save(self, path: Path) -> None:
        """Write the policy atomically (temporary file, fsync, rename, fsync directory)."""
        write_atomic(Path(path), self.dumps(), mode=0o644, overwrite=True)

    def to_json(self) -> dict[str, Any]:
        """The policy file (SPEC.md section 10.3) as a JSON value."""
        doc: dict[str, Any] = {
            "format": POLICY_FORMAT,
            "trust": self.trust.to_json(),
            "quorum": self.quorum,
            "max_age": self.max_age,
        }
        if self.no_witnesses:
            doc["no_witnesses"] = True
        return doc


def parse_policy(data: bytes) -> TrustPolicy:
    """Parse a policy document strictly (SPEC 10.3)."""
    doc = json_loads_strict(data, max_size=MAX_POLICY_SIZE, what="policy")
    if not isinstance(doc, dict):
        raise MalformedError("policy: must be a JSON object")
    if set(doc) - {"no_witnesses"} != {"format", "trust", "quorum", "max_age"}:
        raise MalformedError(
            "policy: members must be exactly format, trust, quorum and max_age, and "
            f"optionally no_witnesses (got {sorted(doc)})"
        )
    if doc.get("no_witnesses", True) is not True:
        raise MalformedError("policy: no_witnesses must be true when present")
    if doc["format"] != POLICY_FORMAT:
        raise MalformedError(f"policy: member 'format' must be {POLICY_FORMAT!r}")
    if not isinstance(doc["trust"], dict):
        raise MalformedError("policy: member 'trust' must be a trust store object (SPEC 3)")
    try:
        trust = TrustStore.loads(_canonical(doc["trust"]), "policy: trust")
    except KeyStoreError as e:
        raise MalformedError(f"policy: trust: {e}") from e
    return TrustPolicy(trust, doc["quorum"], doc["max_age"], "no_witnesses" in doc)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
