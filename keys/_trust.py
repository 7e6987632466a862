"""The trust store: which public keys are trusted, for which role, and when (SPEC.md section 3).

``TrustStore`` is a pure value (lookups do no I/O and take ``now``); ``load``/``save`` are the
file edge.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._codec import json_loads_strict
from ._ed25519 import PublicKey, check_note_key_name
from ._files import read_capped, write_atomic
from ._timetext import time_text
from .errors import KeyStoreError, MalformedError, UntrustedKeyError

__all__ = [
    "MAX_TRUST_ENTRIES",
    "MAX_TRUST_STORE_SIZE",
    "ROLES",
    "TRUST_STORE_FORMAT",
    "TrustEntry",
    "TrustStore",
]

TRUST_STORE_FORMAT = "lic-ledger trust store v1"
ROLES = ("issuer", "log", "witness")
MAX_TRUST_STORE_SIZE = 1024 * 1024
MAX_TRUST_ENTRIES = 4096
_MAX_TIME = 2**63 - 1
_ENTRY_MEMBERS = {"name", "role", "kid", "public_key", "not_before", "not_after"}


def _check_time(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= _MAX_TIME:
        raise MalformedError(f"{what}: must be an integer number of seconds since the epoch")
    return value


@dataclass(frozen=True)
class TrustEntry:
    """One trusted key: its role, a unique name, and an optional window [not_before, not_after).

    ``name`` follows the C2SP note key name rule (for a log key it is the log's origin, which
    is the name its checkpoints are signed under).
    """

    public_key: PublicKey
    role: str
    name: str
    not_before: int | None = None
    not_after: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, PublicKey):
            raise MalformedError("trust entry: public_key must be a PublicKey")
        if self.role not in ROLES:
            raise MalformedError(
                f"trust entry: unknown role {self.role!r}; expected one of {', '.join(ROLES)}"
            )
        try:
            check_note_key_name(self.name)
        except MalformedError as e:
            raise MalformedError(f"trust entry name {self.name!r}: {e}") from e
        nb = _check_time(self.not_before, "trust entry not_before")
        na = _check_time(self.not_after, "trust entry not_after")
        if nb is not None and na is not None and nb >= na:
            raise MalformedError("trust entry: not_before must be earlier than not_after")

    @property
    def kid(self) -> str:
        """The RFC 7638 thumbprint of the key: always derived, never read from input."""
        return self.public_key.thumbprint

    def valid_at(self, now: int) -> bool:
        """Whether ``now`` lies in [not_before, not_after)."""
        if self.not_before is not None and now < self.not_before:
            return False
        return not (self.not_after is not None and now >= self.not_after)

    def to_json(self) -> dict[str, Any]:
        """The entry as a member of a trust store document (SPEC.md section 3.1)."""
        return {
            "name": self.name,
            "role": self.role,
            "kid": self.kid,
            "public_key": self.public_key.jwk(),
            "not_before": self.not_before,
            "not_after": self.not_after,
        }

    @classmethod
    def from_json(cls, value: Any, where: str = "trust entry") -> TrustEntry:
        """Parse one entry of a trust store document strictly; ``where`` names it in errors."""
        if not isinstance(value, dict):
            raise MalformedError(f"{where}: must be a JSON object")
        extra = set(value) - _ENTRY_MEMBERS
        if extra:
            raise MalformedError(f"{where}: unexpected members {sorted(extra)}")
        for member in ("name", "role", "kid", "public_key"):
            if member not in value:
                raise MalformedError(f"{where}: missing member {member!r}")
        for member in ("name", "role", "kid"):
            if not isinstance(value[member], str):
                raise MalformedError(f"{where}: member {member!r} must be a string")
        try:
            key = PublicKey.from_jwk(value["public_key"])
            entry = cls(
                public_key=key,
                role=value["role"],
                name=value["name"],
                not_before=_check_time(value.get("not_before"), "not_before"),
                not_after=_check_time(value.get("not_after"), "not_after"),
            )
        except MalformedError as e:
            raise MalformedError(f"{where}: {e}") from e
        if value["kid"] != entry.kid:
            raise MalformedError(f"{where}: kid does not equal the key's RFC 7638 thumbprint")
        return entry


class TrustStore:
    """A set of trust entries. Names are unique, and so is each (key id, role) pair."""

    def __init__(self, entries: Iterable[TrustEntry] = ()) -> None:
        self._entries: list[TrustEntry] = []
        # Lookups happen on every token and note verification: index by (key id, role).
        self._by_kid_role: dict[tuple[str, str], TrustEntry] = {}
        self._kids: set[str] = set()
        for entry in entries:
            self.add(entry)

    def _reindex(self) -> None:
        self._by_kid_role = {(e.kid, e.role): e for e in self._entries}
        self._kids = {e.kid for e in self._entries}

    @property
    def entries(self) -> tuple[TrustEntry, ...]:
        """Every entry, in the order they were added."""
        return tuple(self._entries)

    def add(self, entry: TrustEntry) -> None:
        """Add an entry; refuse a duplicate name or a key already trusted for that role."""
        if not isinstance(entry, TrustEntry):
            raise MalformedError("trust store: can only add a TrustEntry")
        for e in self._entries:
            if e.name == entry.name:
                raise KeyStoreError(f"trust store: an entry named {entry.name!r} already exists")
        same = self._by_kid_role.get((entry.kid, entry.role))
        if same is not None:
            raise KeyStoreError(
                f"trust store: key {entry.kid} is already trusted as {entry.role} "
                f"(entry {same.name!r})"
            )
        if len(self._entries) >= MAX_TRUST_ENTRIES:
            raise KeyStoreError(f"trust store: more than {MAX_TRUST_ENTRIES} entries")
        self._entries.append(entry)
        self._by_kid_role[(entry.kid, entry.role)] = entry
        self._kids.add(entry.kid)

    def remove(self, name_or_kid: str) -> list[TrustEntry]:
        """Remove the entry with this name or else every entry of this key id; return them."""
        named = [e for e in self._entries if e.name == name_or_kid]
        gone = named or [e for e in self._entries if e.kid == name_or_kid]
        if not gone:
            raise KeyStoreError(f"trust store: no entry named or with key id {name_or_kid!r}")
        self._entries = [e for e in self._entries if e not in gone]
        self._reindex()
        return gone

    def by_role(self, role: str) -> list[TrustEntry]:
        """Every entry of ``role``, whatever its validity window."""
        if role not in ROLES:
            raise MalformedError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        return [e for e in self._entries if e.role == role]

    def lookup(self, kid: str, role: str, now: int) -> PublicKey:
        """The key with thumbprint ``kid`` if trusted for ``role`` at ``now``.

        Raises UntrustedKeyError when the key id is unknown, not trusted for the role, or
        ``now`` lies outside the entry's window [not_before, not_after).
        """
        try:
            entry = self._by_kid_role.get((kid, role))
        except TypeError:  # an unhashable role is refused below, as before
            entry = None
        if entry is not None and type(now) is int:  # the common case first, then the rest
            nb, na = entry.not_before, entry.not_after  # = entry.valid_at(now), inline
            if (nb is None or now >= nb) and (na is None or now < na):
                return entry.public_key
        if role not in ROLES:
            raise MalformedError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        if type(now) is not int:
            raise MalformedError("trust lookup: now must be an integer")
        if entry is None:
            if kid not in self._kids:
                raise UntrustedKeyError(f"key {kid!r} is not in the trust store")
            raise UntrustedKeyError(f"key {kid!r} is not trusted as {role}")
        if not entry.valid_at(now):
            raise UntrustedKeyError(
                f"key {kid!r} is not trusted as {role} at time {time_text(now)}"
            )
        return entry.public_key

    # -- file edge ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The trust store document (SPEC.md section 3.1) as a JSON value."""
        return {"format": TRUST_STORE_FORMAT, "keys": [e.to_json() for e in self._entries]}

    def dumps(self) -> bytes:
        """The trust store document as indented UTF-8 JSON with a final newline."""
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def loads(cls, data: bytes, where: str = "trust store") -> TrustStore:
        """Parse a trust store document strictly (SPEC.md section 3)."""
        doc = json_loads_strict(data, max_size=MAX_TRUST_STORE_SIZE, what=where)
        if not isinstance(doc, dict):
            raise MalformedError(f"{where}: must be a JSON object")
        extra = set(doc) - {"format", "keys"}
        if extra:
            raise MalformedError(f"{where}: unexpected members {sorted(extra)}")
        if doc.get("format") != TRUST_STORE_FORMAT:
            raise MalformedError(f"{where}: member 'format' must be {TRUST_STORE_FORMAT!r}")
        keys = doc.get("keys")
        if not isinstance(keys, list):
            raise MalformedError(f"{where}: member 'keys' must be an array")
        store = cls()
        for i, item in enumerate(keys):
            entry = TrustEntry.from_json(item, f"{where}: keys[{i}]")
            try:
                store.add(entry)
            except KeyStoreError as e:
                raise MalformedError(f"{where}: keys[{i}]: {e}") from e
        return store

    @classmethod
    def load(cls, path: Path) -> TrustStore:
        """Read and parse a trust store file; a missing file is a KeyStoreError."""
        path = Path(path)
        data, _ = read_capped(path, max_size=MAX_TRUST_STORE_SIZE, what="trust store")
        return cls.loads(data, str(path))

    def save(self, path: Path) -> None:
        """Write the trust store atomically (temporary file, fsync, rename, fsync directory)."""
        path = Path(path)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(path, self.dumps(), mode=0o644, overwrite=True)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TrustStore({len(self._entries)} entries)"
