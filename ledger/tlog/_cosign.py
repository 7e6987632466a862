"""C2SP tlog-cosignature v1 (timestamped Ed25519 witness cosignatures). Pure: no I/O, no clock.

A cosignature is a signed-note signature line ``— <witness name> base64(key id || sig)`` on a
checkpoint (https://c2sp.org/tlog-cosignature):

- key id = SHA-256(<name> || 0x0A || 0x04 || 32-byte Ed25519 public key)[:4] (type 0x04);
- sig = timestamp (u64, big-endian, < 2**63) || Ed25519 signature (64 bytes), 72 bytes;
- the signed message is ``cosignature/v1\\ntime <timestamp decimal>\\n`` followed by the whole
  checkpoint note text (the lines before the signatures, extension lines included).

A witness verifier key (vkey) is ``<name>+<hex key id>+base64(0x04 || public key)``.
``CosignatureV1Verifier`` plugs into ``open_note`` like any other note verifier.
"""

from __future__ import annotations

import hashlib

from keys import PublicKey, SigningKey, b64std_decode, b64std_encode, check_note_key_name
from keys.errors import InvalidSignatureError, MalformedError

from ._note import SIG_PREFIX, NoteSignature, VerifiedNote, open_note, parse_note

__all__ = [
    "COSIGNATURE_TYPE",
    "CosignatureV1Signer",
    "CosignatureV1Verifier",
    "cosign",
    "cosignature_message",
    "parse_signature_lines",
    "verify_cosignature",
]

COSIGNATURE_TYPE = 0x04
_HEADER = b"cosignature/v1\n"
_MAX_TIME = (1 << 63) - 1
_SIG_LEN = 8 + 64


def _key_id(name: str, key: PublicKey) -> bytes:
    check_note_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([COSIGNATURE_TYPE]) + key.raw).digest()[:4]


def _check_time(t: int) -> int:
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= _MAX_TIME:
        raise MalformedError("cosignature: timestamp out of range (0 to 2**63-1)")
    return t


def cosignature_message(text: bytes | str, time: int) -> bytes:
    """The bytes a v1 cosignature signs: header line, time line, then the checkpoint text."""
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if not raw.endswith(b"\n"):
        raise MalformedError("cosignature: checkpoint text must end in a newline")
    return _HEADER + b"time %d\n" % _check_time(time) + raw


class CosignatureV1Verifier:
    """Verifies tlog-cosignature v1 signature lines of one witness (name + Ed25519 key)."""

    __slots__ = ("_key", "key_hash", "name")

    def __init__(self, name: str, key: PublicKey) -> None:
        self.name = name
        self.key_hash = _key_id(name, key)
        self._key = key

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureV1Verifier:
        """From a witness verifier key ``name+hexkeyid+base64(0x04||pub)``."""
        if not isinstance(vkey, str) or len(vkey) > 1024:
            raise MalformedError("witness key: not a verifier key string")
        parts = vkey.split("+", 2)  # the base64 key may contain '+' too
        if len(parts) != 3:
            raise MalformedError("witness key: must be name+keyid+key")
        name, hexid, b64 = parts
        check_note_key_name(name)
        blob = b64std_decode(b64, "witness key")
        if len(blob) != 33 or blob[0] != COSIGNATURE_TYPE:
            raise MalformedError("witness key: only cosignature/v1 keys (type 0x04, Ed25519)")
        key = PublicKey.from_raw(blob[1:])
        if len(hexid) != 8 or _key_id(name, key).hex() != hexid:
            raise MalformedError("witness key: key id does not match name and key")
        return cls(name, key)

    @property
    def public_key(self) -> PublicKey:
        """The witness's Ed25519 public key."""
        return self._key

    @property
    def vkey(self) -> str:
        """The witness verifier key ``name+hex key id+base64(0x04 || key)``."""
        blob = b64std_encode(bytes([COSIGNATURE_TYPE]) + self._key.raw)
        return f"{self.name}+{self.key_hash.hex()}+{blob}"

    def timestamp(self, text: bytes, signature: bytes) -> int:
        """Verify ``signature`` (key id removed) on checkpoint ``text``; return its timestamp."""
        if len(signature) != _SIG_LEN:
            raise InvalidSignatureError("invalid cosignature")
        t = int.from_bytes(signature[:8], "big")
        if t > _MAX_TIME:
            raise InvalidSignatureError("invalid cosignature")
        self._key.verify(signature[8:], _HEADER + b"time %d\n" % t + bytes(text))
        return t

    def verify(self, text: bytes, signature: bytes) -> None:
        """Raise InvalidSignatureError unless ``signature`` is this witness's cosignature of
        ``text``."""
        self.timestamp(text, signature)


class CosignatureV1Signer:
    """Signs checkpoints as a witness, at a fixed ``time`` (the caller supplies the clock)."""

    __slots__ = ("_key", "key_hash", "name", "time")

    def __init__(self, name: str, key: SigningKey, time: int) -> None:
        self.name = name
        self.key_hash = _key_id(name, key.public_key)
        self._key = key
        self.time = _check_time(time)

    @property
    def verifier(self) -> CosignatureV1Verifier:
        """The verifier of this signer's cosignatures."""
        return CosignatureV1Verifier(self.name, self._key.public_key)

    def sign(self, text: bytes) -> bytes:
        """The cosignature of the checkpoint ``text`` at this signer's time: timestamp and
        signature, 72 bytes."""
        return self.time.to_bytes(8, "big") + self._key.sign(cosignature_message(text, self.time))


def cosign(checkpoint_text: bytes | str, witness_key: SigningKey, name: str, time: int) -> str:
    """The cosignature line (``— name base64...\\n``) of ``witness_key`` named ``name`` on the
    checkpoint note text ``checkpoint_text`` (without signatures) at POSIX time ``time``."""
    signer = CosignatureV1Signer(name, witness_key, time)
    raw = checkpoint_text.encode("utf-8") if isinstance(checkpoint_text, str) else checkpoint_text
    return NoteSignature(name, signer.key_hash, signer.sign(bytes(raw))).line()


def verify_cosignature(
    note: bytes | str, witness: CosignatureV1Verifier
) -> tuple[VerifiedNote, int]:
    """Verify the cosignature of ``witness`` on a signed checkpoint note and return its
    timestamp. Raises UntrustedKeyError when the witness did not cosign, InvalidSignatureError
    when its line does not verify."""
    verified = open_note(note, [witness])
    sig = next(s for s in verified.verified)
    return verified, witness.timestamp(verified.text.encode("utf-8"), sig.signature)


def parse_signature_lines(body: bytes | str, max_lines: int = 100) -> list[NoteSignature]:
    """Strictly parse a block of note signature lines (e.g. a witness's 200 response)."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > 64 * 1024:
        raise MalformedError("signature lines: too large")
    if not raw.startswith(SIG_PREFIX.encode()):
        raise MalformedError("signature lines: must start with an em dash")
    # Parse them as the signature block of a one-line note: the same strict rules.
    parsed = parse_note(b"x\n\n" + raw)
    if len(parsed.signatures) > max_lines:
        raise MalformedError("signature lines: too many")
    return list(parsed.signatures)
