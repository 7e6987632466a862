"""The envelope bundles and bundle updates share: a magic first line, then one deterministic
CBOR item, the whole within a size cap (SPEC 10.1, 10.6). Pure."""

from __future__ import annotations

from typing import Any

from keys.errors import LicError, MalformedError
from lic import cbor


def open_envelope(data: bytes, magic: bytes, cap: int, what: str, not_it: str) -> Any:
    """The CBOR body of ``data`` after ``magic``; MalformedError (``what: ...``) for anything
    that is not bytes, is larger than ``cap``, lacks the magic line (``not_it`` says so) or whose
    body is not one deterministic CBOR item."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedError(f"{what}: must be bytes")
    data = bytes(data)
    if len(data) > cap:
        raise MalformedError(f"{what}: larger than {cap} bytes")
    if not data.startswith(magic):
        raise MalformedError(f"{what}: {not_it}")
    try:
        return cbor.decode(data[len(magic) :], max_size=cap)
    except LicError as e:
        raise MalformedError(f"{what}: body is not deterministic CBOR: {e}") from e
