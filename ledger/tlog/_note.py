"""C2SP signed notes (https://c2sp.org/signed-note). Pure: no I/O, no clock.

A note is UTF-8 text ending in a newline, a blank line, then one or more signature lines
``— <name> <base64(key hash || signature)>``. The text and the signatures are split at the *last*
blank line. Parsing rules (refusing is ``MalformedError``):

- at most ``MAX_NOTE_SIZE`` bytes, valid UTF-8, no control characters other than newline in the
  text, in names or in signature lines;
- at least one and at most ``MAX_SIGNATURES`` (100) signature lines; every line well-formed
  (em dash, space, a valid key name, space, canonical base64 of at least 5 bytes);
- signatures by unknown keys (name and key hash not among the verifiers) are kept as unverified
  and otherwise ignored; a signature by a known key that does not verify rejects the whole note
  (``InvalidSignatureError``); two lines by the same known key reject the note;
- a note with no signature by a known key is ``UntrustedKeyError``.

Verifiers and signers are small protocols so that the witness cosignature types (C2SP
tlog-cosignature) plug in without changing the parser.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from keys import PublicKey, SigningKey, b64std_decode, b64std_encode, check_note_key_name
from keys.errors import (
    InvalidSignatureError,
    MalformedError,
    UntrustedKeyError,
)

__all__ = [
    "MAX_NOTE_SIZE",
    "MAX_SIGNATURES",
    "Ed25519NoteSigner",
    "Ed25519NoteVerifier",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "ParsedNote",
    "VerifiedNote",
    "add_signatures",
    "open_note",
    "parse_note",
    "sign_note",
]

MAX_NOTE_SIZE = 64 * 1024
MAX_SIGNATURES = 100
SIG_PREFIX = "— "  # U+2014 EM DASH, U+0020 SPACE


class NoteVerifier(Protocol):
    """Checks one kind of signature line: identified by ``name`` and 4-byte ``key_hash``."""

    @property
    def name(self) -> str:
        """The key name the signature lines carry."""

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key hash the signature lines carry."""

    def verify(self, text: bytes, signature: bytes) -> None:
        """Raise InvalidSignatureError unless ``signature`` (key hash removed) is valid."""


class NoteSigner(Protocol):
    """What signs a note: a key name, its C2SP key hash and a signature over the text."""

    @property
    def name(self) -> str:
        """The key name written on the signature line."""

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key hash written on the signature line."""

    def sign(self, text: bytes) -> bytes:
        """The signature of the note ``text`` (without the key hash)."""


class Ed25519NoteVerifier:
    """Verifier for C2SP Ed25519 note signatures (type 0x01)."""

    __slots__ = ("_key", "key_hash", "name")

    def __init__(self, name: str, key: PublicKey) -> None:
        self.name = name
        self.key_hash = key.note_key_hash(name)
        self._key = key

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519NoteVerifier:
        """From a verifier key string ``name+hexhash+base64(0x01||pub)``."""
        name, key = PublicKey.from_verifier_key(vkey)
        return cls(name, key)

    @property
    def public_key(self) -> PublicKey:
        """The Ed25519 public key."""
        return self._key

    @property
    def vkey(self) -> str:
        """The note verifier key ``name+hex key hash+base64(0x01 || key)``."""
        return self._key.verifier_key(self.name)

    def verify(self, text: bytes, signature: bytes) -> None:
        """Raise InvalidSignatureError unless ``signature`` is valid over ``text``."""
        self._key.verify(signature, text)


class Ed25519NoteSigner:
    """Signer producing C2SP Ed25519 note signatures (type 0x01)."""

    __slots__ = ("_key", "key_hash", "name")

    def __init__(self, name: str, key: SigningKey) -> None:
        self.name = name
        self.key_hash = key.public_key.note_key_hash(name)
        self._key = key

    @property
    def verifier(self) -> Ed25519NoteVerifier:
        """The verifier of this signer's signatures."""
        return Ed25519NoteVerifier(self.name, self._key.public_key)

    def sign(self, text: bytes) -> bytes:
        """The Ed25519 signature of the note ``text``."""
        return self._key.sign(text)


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a signed note: the key name, the 4-byte key hash and the
    signature bytes."""

    name: str
    key_hash: bytes
    signature: bytes  # without the key hash

    def line(self) -> str:
        """The signature line, ``— name base64(key hash || signature)`` and a newline."""
        return f"{SIG_PREFIX}{self.name} {b64std_encode(self.key_hash + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class ParsedNote:
    """A note split into text and signature lines; nothing verified yet."""

    text: str
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note whose ``verified`` signatures were checked; ``unverified`` are by unknown keys."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]

    def signed_by(self, verifier: NoteVerifier) -> bool:
        """Whether one of the verified signatures is by ``verifier``'s name and key hash."""
        return any(
            s.name == verifier.name and s.key_hash == verifier.key_hash for s in self.verified
        )


def _check_text_chars(text: str, what: str) -> None:
    for ch in text:
        if ch != "\n" and unicodedata.category(ch) == "Cc":
            raise MalformedError(f"{what}: control character U+{ord(ch):04X}")


def _decode(data: bytes | str) -> str:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_NOTE_SIZE:
        raise MalformedError(f"signed note: larger than {MAX_NOTE_SIZE} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedError("signed note: not valid UTF-8") from e


def parse_note(data: bytes | str) -> ParsedNote:
    """Split a signed note into text and signatures, refusing anything malformed."""
    msg = _decode(data)
    _check_text_chars(msg, "signed note")
    split = msg.rfind("\n\n")
    if split < 0:
        raise MalformedError("signed note: no blank line before the signatures")
    text, sigs = msg[: split + 1], msg[split + 2 :]
    if not sigs or not sigs.endswith("\n"):
        raise MalformedError("signed note: signature block must be non-empty and end in newline")
    lines = sigs[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedError(f"signed note: more than {MAX_SIGNATURES} signatures")
    out: list[NoteSignature] = []
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise MalformedError("signed note: signature line must start with an em dash")
        rest = line[len(SIG_PREFIX) :]
        name, sep, b64 = rest.partition(" ")
        if not sep or not b64:
            raise MalformedError("signed note: signature line must be '— name signature'")
        check_note_key_name(name)
        blob = b64std_decode(b64, "signed note signature")
        if len(blob) < 5:
            raise MalformedError("signed note: signature too short")
        out.append(NoteSignature(name, blob[:4], blob[4:]))
    return ParsedNote(text, tuple(out))


def open_note(data: bytes | str, verifiers: Iterable[NoteVerifier]) -> VerifiedNote:
    """Parse and verify a signed note against ``verifiers`` by the C2SP rules (see module doc)."""
    parsed = parse_note(data)
    known = {(v.name, v.key_hash): v for v in verifiers}
    text_bytes = parsed.text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for sig in parsed.signatures:
        ident = (sig.name, sig.key_hash)
        v = known.get(ident)
        if v is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if ident in seen:
            raise MalformedError(f"signed note: two signatures by known key {sig.name}")
        seen.add(ident)
        try:
            v.verify(text_bytes, sig.signature)
        except InvalidSignatureError:
            raise InvalidSignatureError(
                f"signed note: invalid signature by known key {sig.name}"
            ) from None
        verified.append(sig)
    if not verified:
        raise UntrustedKeyError("signed note: no signature by a known key")
    return VerifiedNote(parsed.text, tuple(verified), tuple(unverified))


def _check_note_text(text: str) -> bytes:
    if not text.endswith("\n"):
        raise MalformedError("signed note: text must end in a newline")
    if "\n\n" in text or text.startswith("\n"):
        raise MalformedError("signed note: text must not contain blank lines")
    _check_text_chars(text, "signed note text")
    return text.encode("utf-8")


def sign_note(text: str, signers: Sequence[NoteSigner]) -> bytes:
    """Sign ``text`` (which must end in a newline) with every signer, in order."""
    raw = _check_note_text(text)
    if not signers:
        raise MalformedError("signed note: at least one signer")
    lines = [NoteSignature(s.name, s.key_hash, s.sign(raw)).line() for s in signers]
    out = (text + "\n" + "".join(lines)).encode("utf-8")
    if len(out) > MAX_NOTE_SIZE:
        raise MalformedError("signed note: too large")
    return out


def add_signatures(note: bytes | str, signers: Sequence[NoteSigner]) -> bytes:
    """Append signatures (e.g. witness cosignatures) to an existing note, unverified."""
    parsed = parse_note(note)
    raw = parsed.text.encode("utf-8")
    lines = [s.line() for s in parsed.signatures]
    lines += [NoteSignature(s.name, s.key_hash, s.sign(raw)).line() for s in signers]
    if len(lines) > MAX_SIGNATURES:
        raise MalformedError(f"signed note: more than {MAX_SIGNATURES} signatures")
    out = (parsed.text + "\n" + "".join(lines)).encode("utf-8")
    if len(out) > MAX_NOTE_SIZE:
        raise MalformedError("signed note: too large")
    return out
