"""C2SP tlog-checkpoint bodies and tlog-proof@v1 receipts. Pure: no I/O, no clock.

Checkpoint note text (https://c2sp.org/tlog-checkpoint)::

    <origin>\\n
    <tree size, ASCII decimal, no leading zeros>\\n
    <base64 of the 32-byte root hash>\\n
    [<extension line>\\n ...]

signed by the log key whose name is the origin. Receipts (https://c2sp.org/tlog-proof)::

    c2sp.org/tlog-proof@v1\\n
    [extra <base64>\\n]
    index <decimal>\\n
    <base64 proof hash>\\n ...   (at most 63)
    \\n
    <the checkpoint signed note>
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from keys import b64std_decode, b64std_encode, check_note_key_name
from keys.errors import MalformedError, ProofMismatchError, UntrustedKeyError

from ._merkle import HASH_SIZE, leaf_hash, verify_consistency, verify_inclusion
from ._note import MAX_NOTE_SIZE, NoteSigner, NoteVerifier, VerifiedNote, open_note, sign_note

__all__ = [
    "MAX_RECEIPT_SIZE",
    "TLOG_PROOF_HEADER",
    "Checkpoint",
    "Receipt",
    "SignedCheckpoint",
    "format_receipt",
    "open_checkpoint",
    "parse_checkpoint",
    "parse_receipt",
    "sign_checkpoint",
    "verify_checkpoint_consistency",
    "verify_receipt_inclusion",
]

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
MAX_RECEIPT_SIZE = 2 * 1024 * 1024 + MAX_NOTE_SIZE
MAX_RECEIPT_HASHES = 63
MAX_EXTENSION_LINES = 16
_MAX_SIZE_DIGITS = 19  # sizes stay below 2**63


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The body of a checkpoint: origin, tree size, root hash, optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The checkpoint body (SPEC.md section 8.2): origin, size, base64 root and extension
        lines, each ending in a newline."""
        check_note_key_name(self.origin)
        if isinstance(self.size, bool) or not 0 <= self.size < 1 << 63:
            raise MalformedError("checkpoint: size out of range")
        if len(self.root) != HASH_SIZE:
            raise MalformedError("checkpoint: root must be 32 bytes")
        for ext in self.extensions:
            if not ext or "\n" in ext:
                raise MalformedError("checkpoint: extension lines must be non-empty single lines")
        lines = [self.origin, str(self.size), b64std_encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint together with its signed note bytes (and, once opened, the verification)."""

    checkpoint: Checkpoint
    note: bytes


def parse_checkpoint(text: str) -> Checkpoint:
    """Strictly parse checkpoint note text (the part before the signatures)."""
    if not text.endswith("\n"):
        raise MalformedError("checkpoint: text must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedError("checkpoint: needs origin, size and root lines")
    if len(lines) > 3 + MAX_EXTENSION_LINES:
        raise MalformedError("checkpoint: too many extension lines")
    origin, size_s, root_s, *ext = lines
    check_note_key_name(origin)
    if (
        not size_s
        or len(size_s) > _MAX_SIZE_DIGITS
        or not size_s.isascii()
        or not size_s.isdigit()
        or (size_s[0] == "0" and size_s != "0")
    ):
        raise MalformedError("checkpoint: size must be decimal without leading zeros")
    size = int(size_s)
    if size >= 1 << 63:
        raise MalformedError("checkpoint: size out of range")
    root = b64std_decode(root_s, "checkpoint root")
    if len(root) != HASH_SIZE:
        raise MalformedError("checkpoint: root must be 32 bytes")
    if any(not line for line in ext):
        raise MalformedError("checkpoint: extension lines must be non-empty")
    return Checkpoint(origin, size, root, tuple(ext))


def sign_checkpoint(cp: Checkpoint, log_signer: NoteSigner) -> SignedCheckpoint:
    """Sign a checkpoint with the log key; the key name must be the origin."""
    if log_signer.name != cp.origin:
        raise MalformedError("checkpoint: the log key name must equal the origin")
    return SignedCheckpoint(cp, sign_note(cp.text(), [log_signer]))


def open_checkpoint(
    note: bytes | str,
    log: NoteVerifier,
    others: Iterable[NoteVerifier] = (),
) -> tuple[SignedCheckpoint, VerifiedNote]:
    """Verify a checkpoint note: it must carry a valid signature by the log key ``log``, whose
    name is the origin. Signatures by ``others`` (e.g. witnesses) are checked too; unknown ones
    are ignored. Returns the checkpoint and the verified note."""
    verified = open_note(note, [log, *others])
    if not verified.signed_by(log):
        raise UntrustedKeyError("checkpoint: not signed by the log key")
    cp = parse_checkpoint(verified.text)
    if cp.origin != log.name:
        raise UntrustedKeyError("checkpoint: origin differs from the log key name")
    raw = note.encode("utf-8") if isinstance(note, str) else bytes(note)
    return SignedCheckpoint(cp, raw), verified


def verify_checkpoint_consistency(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise ProofMismatchError unless ``new`` extends ``old`` (same origin, RFC 9162 proof)."""
    if old.origin != new.origin:
        raise ProofMismatchError("checkpoints of different logs")
    verify_consistency(old.size, new.size, proof, old.root, new.root)


# -- tlog-proof@v1 ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    """A parsed (not yet verified) tlog-proof@v1."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint_note: bytes
    extra: bytes | None = None


def format_receipt(
    index: int, hashes: Sequence[bytes], checkpoint_note: bytes, extra: bytes | None = None
) -> bytes:
    """A tlog-proof@v1 receipt: the leaf at ``index``, its proof ``hashes`` and the signed
    checkpoint note they lead to, with the optional ``extra`` data line."""
    lines = [TLOG_PROOF_HEADER]
    if extra is not None:
        lines.append("extra " + b64std_encode(extra))
    lines.append(f"index {index}")
    lines += [b64std_encode(h) for h in hashes]
    return ("\n".join(lines) + "\n\n").encode("ascii") + checkpoint_note


def _decimal(s: str, what: str) -> int:
    if (
        not s
        or len(s) > _MAX_SIZE_DIGITS
        or not s.isascii()
        or not s.isdigit()
        or (s[0] == "0" and s != "0")
    ):
        raise MalformedError(f"{what}: must be decimal without leading zeros")
    return int(s)


def parse_receipt(data: bytes) -> Receipt:
    """Strictly parse a tlog-proof@v1 (structure only; nothing verified)."""
    if len(data) > MAX_RECEIPT_SIZE:
        raise MalformedError("tlog-proof: too large")
    head, sep, note = bytes(data).partition(b"\n\n")
    if not sep or not note:
        raise MalformedError("tlog-proof: no blank line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as e:
        raise MalformedError("tlog-proof: header is not ASCII") from e
    if lines[0] != TLOG_PROOF_HEADER:
        raise MalformedError("tlog-proof: first line must be c2sp.org/tlog-proof@v1")
    pos = 1
    extra: bytes | None = None
    if pos < len(lines) and lines[pos].startswith("extra "):
        extra = b64std_decode(lines[pos][len("extra ") :], "tlog-proof extra")
        pos += 1
    if pos >= len(lines) or not lines[pos].startswith("index "):
        raise MalformedError("tlog-proof: missing index line")
    index = _decimal(lines[pos][len("index ") :], "tlog-proof index")
    if index >= 1 << 63:
        raise MalformedError("tlog-proof: index out of range")
    hash_lines = lines[pos + 1 :]
    if len(hash_lines) > MAX_RECEIPT_HASHES:
        raise MalformedError("tlog-proof: too many proof hashes")
    hashes = []
    for line in hash_lines:
        h = b64std_decode(line, "tlog-proof hash")
        if len(h) != HASH_SIZE:
            raise MalformedError("tlog-proof: proof hashes must be 32 bytes")
        hashes.append(h)
    return Receipt(index, tuple(hashes), note, extra)


def verify_receipt_inclusion(receipt: Receipt, size: int, root: bytes, leaf: bytes) -> None:
    """Check that ``leaf`` (the leaf's bytes) is at the receipt's index of the tree of ``size``
    leaves with ``root``; raises ProofMismatchError. Knows nothing of what the leaf holds."""
    verify_inclusion(receipt.index, size, leaf_hash(leaf), receipt.hashes, root)
