"""keys: Ed25519 keys, key ids, strict codecs and the project's exception tree.

The bottom layer: lic, ledger and cli import from here, never the other way round.
"""

from ._codec import (
    b64std_decode,
    b64std_encode,
    b64url_decode,
    b64url_encode,
    json_dumps_canonical,
    json_loads_strict,
)
from ._ed25519 import (
    BACKENDS,
    DEFAULT_BACKEND,
    SMALL_ORDER_ENCODINGS,
    PublicKey,
    SigningKey,
    check_note_key_name,
)
from .errors import (
    ConflictError,
    DeniedError,
    ExpiredError,
    InvalidSignatureError,
    KeyStoreError,
    LedgerIntegrityError,
    LicError,
    MalformedError,
    ProofMismatchError,
    RevokedError,
    UntrustedKeyError,
    VerificationError,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "SMALL_ORDER_ENCODINGS",
    "ConflictError",
    "DeniedError",
    "ExpiredError",
    "InvalidSignatureError",
    "KeyStoreError",
    "LedgerIntegrityError",
    "LicError",
    "MalformedError",
    "ProofMismatchError",
    "PublicKey",
    "RevokedError",
    "SigningKey",
    "UntrustedKeyError",
    "VerificationError",
    "b64std_decode",
    "b64std_encode",
    "b64url_decode",
    "b64url_encode",
    "check_note_key_name",
    "json_dumps_canonical",
    "json_loads_strict",
]
