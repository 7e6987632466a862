"""Public key import in any of the supported encodings, and passphrase input."""

from __future__ import annotations

import os
from pathlib import Path

from ._codec import json_loads_strict
from ._ed25519 import PublicKey
from ._files import read_capped
from .errors import KeyStoreError, MalformedError

__all__ = ["MAX_PASSPHRASE_SIZE", "MAX_PUBLIC_KEY_SIZE", "load_public_key", "read_passphrase"]

MAX_PUBLIC_KEY_SIZE = 4096
MAX_PASSPHRASE_SIZE = 1024


def load_public_key(data: bytes) -> PublicKey:
    """Import an Ed25519 public key from PEM SPKI, JWK JSON, a note verifier key, or 32 raw bytes.

    Exactly 32 bytes are the raw key, unless every byte is printable ASCII or whitespace: that
    is text (a short, broken JWK or verifier key), and a random key looks like it with
    probability below 2**-44. Otherwise the input, without surrounding whitespace, must be a
    ``PUBLIC KEY`` PEM, a JSON object (an RFC 8037 JWK), or a C2SP verifier key
    ``name+hash+key`` (a note key, type 0x01, or a witness's cosignature key, type 0x04).
    Every path ends in ``PublicKey.from_raw``'s checks. Raises MalformedError naming what was wrong.
    """
    if not isinstance(data, bytes):
        raise MalformedError("public key: expected bytes")
    if len(data) > MAX_PUBLIC_KEY_SIZE:
        raise MalformedError(f"public key: larger than {MAX_PUBLIC_KEY_SIZE} bytes")
    if len(data) == 32 and not all(0x20 <= b < 0x7F or b in b"\t\n\r" for b in data):
        return PublicKey.from_raw(data)
    text = data.strip()
    if not text:
        raise MalformedError("public key: empty input")
    if text.startswith(b"-----BEGIN "):
        if b"PRIVATE KEY-----" in text.split(b"\n", 1)[0]:
            raise MalformedError("public key: this is a private key; give the public key")
        if (
            not text.startswith(b"-----BEGIN PUBLIC KEY-----")
            or not text.endswith(b"-----END PUBLIC KEY-----")
            or text.count(b"-----BEGIN ") != 1
        ):
            raise MalformedError("public key PEM: expected one '-----BEGIN PUBLIC KEY-----' block")
        return PublicKey.from_pem(text + b"\n")
    if text.startswith(b"{"):
        jwk = json_loads_strict(text, max_size=MAX_PUBLIC_KEY_SIZE, what="JWK")
        return PublicKey.from_jwk(jwk)
    try:
        vkey = text.decode("ascii")
    except UnicodeDecodeError:
        vkey = ""
    if vkey.count("+") >= 2 and vkey.isprintable():
        return PublicKey.from_verifier_key(vkey, cosignature=True)[1]
    raise MalformedError(
        f"public key: {len(data)} bytes that are not a PEM public key, a JWK, "
        "a note verifier key, or 32 raw bytes"
    )


def read_passphrase(file: Path | None = None, env: str | None = None) -> bytes | None:
    """Read a passphrase from a file or an environment variable; never from the command line.

    The file's content is used up to one trailing newline (``\\n`` or ``\\r\\n``). Returns None
    when neither source is given. An empty passphrase, a missing variable or both sources at
    once is refused with KeyStoreError.
    """
    if file is not None and env is not None:
        raise KeyStoreError("give a passphrase file or a passphrase variable, not both")
    if file is not None:
        data, _ = read_capped(Path(file), max_size=MAX_PASSPHRASE_SIZE, what="passphrase file")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n"):
            data = data[:-1]
        if not data:
            raise KeyStoreError(f"passphrase file {file} is empty")
        return data
    if env is not None:
        if not env or "=" in env or "\0" in env:
            raise KeyStoreError(f"invalid environment variable name {env!r}")
        value = os.environb.get(env.encode()) if os.supports_bytes_environ else None
        if value is None and not os.supports_bytes_environ:  # pragma: no cover - Windows
            text = os.environ.get(env)
            value = text.encode() if text is not None else None
        if value is None:
            raise KeyStoreError(f"environment variable {env} (the passphrase) is not set")
        if not value:
            raise KeyStoreError(f"environment variable {env} (the passphrase) is empty")
        if len(value) > MAX_PASSPHRASE_SIZE:
            raise KeyStoreError(f"passphrase: longer than {MAX_PASSPHRASE_SIZE} bytes")
        return bytes(value)
    return None
