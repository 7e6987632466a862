"""keys: Ed25519 keys, key ids, keyring, trust store, strict codecs, the
time and duration text for people, and the exception tree.

The bottom layer: lic, ledger and cli import from here, never the other way round. The
exception tree is also the public module ``keys.errors``: ``LicError`` and its subclasses,
grouped by what a caller can do.
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
    jwk_thumbprint,
    verify_raw,
)
from ._files import open_atomic, write_atomic
from ._io import load_public_key, read_passphrase
from ._keyring import Keyring, check_key_name, default_keyring_dir
from ._timetext import duration_text, time_text
from ._trust import ROLES, TRUST_STORE_FORMAT, TrustEntry, TrustStore
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
    "ROLES",
    "SMALL_ORDER_ENCODINGS",
    "TRUST_STORE_FORMAT",
    "ConflictError",
    "DeniedError",
    "ExpiredError",
    "InvalidSignatureError",
    "KeyStoreError",
    "Keyring",
    "LedgerIntegrityError",
    "LicError",
    "MalformedError",
    "ProofMismatchError",
    "PublicKey",
    "RevokedError",
    "SigningKey",
    "TrustEntry",
    "TrustStore",
    "UntrustedKeyError",
    "VerificationError",
    "b64std_decode",
    "b64std_encode",
    "b64url_decode",
    "b64url_encode",
    "check_key_name",
    "check_note_key_name",
    "default_keyring_dir",
    "duration_text",
    "json_dumps_canonical",
    "json_loads_strict",
    "jwk_thumbprint",
    "load_public_key",
    "open_atomic",
    "read_passphrase",
    "time_text",
    "verify_raw",
    "write_atomic",
]
