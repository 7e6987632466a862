"""The one exception tree of lic-ledger, shared by keys, lic, ledger and cli.

Grouped by what a caller can do about the failure:

    LicError                      root; never raised itself
    +-- MalformedError            the input cannot be parsed or breaks the format (fix the input)
    +-- KeyStoreError             a key file or keyring cannot be used (permissions, passphrase,
    |                             missing name); a local setup problem, not an attack
    +-- VerificationError         the input parses but must not be trusted
    |   +-- InvalidSignatureError a signature does not verify (deliberately opaque)
    |   +-- UntrustedKeyError     the key is unknown, or not trusted for that role or time
    |   +-- ExpiredError          outside its validity window (expired or not yet valid)
    |   +-- ProofMismatchError    a Merkle proof or checkpoint does not match
    |   +-- LedgerIntegrityError  stored or replayed ledger data is inconsistent
    |   +-- RevokedError          a license (or a link of its chain) is revoked or suspended
    +-- DeniedError               a verified license does not permit the proposed use
    +-- ConflictError             a concurrent writer won (checkpoint compare-and-swap, witness)

Parsers wrap decoder errors (ValueError, KeyError, ...) as MalformedError ``from`` the original,
so no library exception escapes from outside input. ``exit_code`` is what the CLI exits with.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "DeniedError",
    "ExpiredError",
    "InvalidSignatureError",
    "KeyStoreError",
    "LedgerIntegrityError",
    "LicError",
    "MalformedError",
    "ProofMismatchError",
    "RevokedError",
    "UntrustedKeyError",
    "VerificationError",
]


class LicError(Exception):
    """Root of every error this project raises on purpose."""

    exit_code = 1


class MalformedError(LicError):
    """Outside input that cannot be parsed, is too large, or breaks its format's rules."""

    exit_code = 2


class KeyStoreError(LicError):
    """A key file, keyring or trust store cannot be used as asked (not an attack)."""

    exit_code = 2


class VerificationError(LicError):
    """Well-formed input that must not be trusted."""

    exit_code = 1


class InvalidSignatureError(VerificationError):
    """A signature does not verify. The message stays opaque on purpose."""


class UntrustedKeyError(VerificationError):
    """The signing key is unknown, or not trusted for this role or at this time."""


class ExpiredError(VerificationError):
    """Outside the validity window: expired, or not yet valid."""


class ProofMismatchError(VerificationError):
    """An inclusion or consistency proof, or a checkpoint, does not match."""


class LedgerIntegrityError(VerificationError):
    """Ledger data (stored or replayed) is inconsistent with itself."""


class RevokedError(VerificationError):
    """A license, or a link of its chain, is revoked or suspended."""


class DeniedError(LicError):
    """A verified license does not permit the proposed use."""

    exit_code = 1


class ConflictError(LicError):
    """Another writer changed the state first; retry against the new state."""

    exit_code = 1
