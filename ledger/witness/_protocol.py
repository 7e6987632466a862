"""The witness's decision (C2SP tlog-witness add-checkpoint) and split-view proofs. Pure.

``decide_add_checkpoint`` takes the witness's stored state for the origin and a parsed request
and returns an ``AddCheckpointOutcome`` (HTTP status, reason, stored size); the SQLite edge
(``_store``) reads the state and stores the outcome in one transaction.

Status codes (https://c2sp.org/tlog-witness), checked in this order:

- 400 the request body or the checkpoint note is malformed;
- 404 the checkpoint's origin is not a log the witness knows;
- 403 no valid signature by the log's key (unknown key only, or a bad signature by it);
- 400 old size > checkpoint size;
- 409 old size differs from the size of the latest checkpoint cosigned for the origin (the
  body is that size and a newline, ``Content-Type: text/x.tlog.size``);
- 422 the consistency proof from old size to the checkpoint size does not verify (it must be
  empty when old size is 0);
- 409 old size equals the checkpoint size but the root differs from the stored one: a split
  view, recorded as evidence (the stored note and the new note, both signed by the log);
- 200 otherwise: the checkpoint becomes the latest and is cosigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keys import b64std_decode, b64std_encode
from keys.errors import LicError, MalformedError, ProofMismatchError

from ..tlog import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_NOTE_SIZE,
    Checkpoint,
    Ed25519NoteVerifier,
    NoteVerifier,
    find_revset_commitment,
    open_checkpoint,
    parse_checkpoint,
    parse_note,
    verify_consistency,
)

__all__ = [
    "MAX_ADD_CHECKPOINT_BODY",
    "SIZE_CONTENT_TYPE",
    "AddCheckpointOutcome",
    "AddCheckpointRequest",
    "SplitViewResult",
    "StoredHead",
    "decide_add_checkpoint",
    "format_add_checkpoint_request",
    "parse_add_checkpoint_request",
    "split_view_result",
]

SIZE_CONTENT_TYPE = "text/x.tlog.size"  # the body of a 409: the witness's stored size

MAX_PROOF_LINES = 63
MAX_ADD_CHECKPOINT_BODY = 64 + MAX_PROOF_LINES * 46 + MAX_NOTE_SIZE
_MAX_DIGITS = 19


@dataclass(frozen=True, slots=True)
class AddCheckpointRequest:
    """A parsed add-checkpoint body: the old size, the consistency proof from it, and the
    checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


@dataclass(frozen=True, slots=True)
class StoredHead:
    """The latest checkpoint a witness cosigned for one origin (size 0, no note: never)."""

    size: int
    root: bytes | None
    note: bytes | None


@dataclass(frozen=True, slots=True)
class AddCheckpointOutcome:
    """What the witness answers. ``checkpoint`` is set once the log signature verified;
    ``split_view`` when the request and the stored note form a proof of misbehaviour."""

    status: int
    reason: str
    stored_size: int | None = None
    checkpoint: Checkpoint | None = None
    split_view: bool = False
    cosignatures: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """Whether the witness cosigned (status 200)."""
        return self.status == 200


def _decimal(s: str, what: str) -> int:
    if (
        not s
        or len(s) > _MAX_DIGITS
        or not s.isascii()
        or not s.isdigit()
        or (s[0] == "0" and s != "0")
    ):
        raise MalformedError(f"{what}: must be decimal without leading zeros")
    n = int(s)
    if n >= 1 << 63:
        raise MalformedError(f"{what}: out of range")
    return n


def parse_add_checkpoint_request(body: bytes) -> AddCheckpointRequest:
    """Strictly parse ``old <size>\\n`` + proof lines + ``\\n`` + checkpoint note."""
    if len(body) > MAX_ADD_CHECKPOINT_BODY:
        raise MalformedError("add-checkpoint: request too large")
    head, sep, note = bytes(body).partition(b"\n\n")
    if not sep or not note:
        raise MalformedError("add-checkpoint: no blank line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as e:
        raise MalformedError("add-checkpoint: header is not ASCII") from e
    if not lines[0].startswith("old "):
        raise MalformedError("add-checkpoint: first line must be 'old <size>'")
    old = _decimal(lines[0][4:], "add-checkpoint old size")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise MalformedError("add-checkpoint: more than 63 proof lines")
    proof = []
    for line in lines[1:]:
        h = b64std_decode(line, "add-checkpoint proof line")
        if len(h) != HASH_SIZE:
            raise MalformedError("add-checkpoint: proof hashes must be 32 bytes")
        proof.append(h)
    return AddCheckpointRequest(old, tuple(proof), note)


def format_add_checkpoint_request(old_size: int, proof: Sequence[bytes], note: bytes) -> bytes:
    """The body of a C2SP add-checkpoint request: the old size, the consistency proof from it,
    and the checkpoint note."""
    lines = [f"old {old_size}", *(b64std_encode(h) for h in proof)]
    return ("".join(line + "\n" for line in lines) + "\n").encode("ascii") + note


def decide_add_checkpoint(
    stored: StoredHead | None,
    log: NoteVerifier | None,
    req: AddCheckpointRequest,
) -> AddCheckpointOutcome:
    """The add-checkpoint decision (module doc) for a request whose checkpoint origin's log
    verifier is ``log`` (None: unknown origin) and whose stored state is ``stored``."""
    try:
        origin = parse_checkpoint(parse_note(req.note).text).origin
    except MalformedError as e:
        return AddCheckpointOutcome(400, str(e))
    if log is None or log.name != origin:
        return AddCheckpointOutcome(404, f"unknown log origin {origin!r}")
    try:
        signed, _ = open_checkpoint(req.note, log)
    except LicError as e:
        return AddCheckpointOutcome(403, f"no valid signature by the log key: {e}")
    cp = signed.checkpoint
    if req.old_size > cp.size:
        return AddCheckpointOutcome(400, "old size is larger than the checkpoint size", None, cp)
    have = stored if stored is not None else StoredHead(0, None, None)
    if req.old_size != have.size:
        return AddCheckpointOutcome(
            409, f"old size {req.old_size} is not the stored size {have.size}", have.size, cp
        )
    if req.old_size == cp.size:
        if req.proof:
            return AddCheckpointOutcome(422, "the proof must be empty at equal sizes", cp.size, cp)
        expected = have.root if have.note is not None else EMPTY_ROOT
        if cp.root != expected:
            if have.note is None:
                return AddCheckpointOutcome(422, "a size-0 tree has the root H('')", 0, cp)
            return AddCheckpointOutcome(
                409,
                "split view: same size as the stored checkpoint, different root",
                have.size,
                cp,
                split_view=True,
            )
        if have.note is not None and _revoked_lines_differ(_checkpoint_of(have.note), cp):
            return AddCheckpointOutcome(
                409,
                "split view: the stored checkpoint's tree with another lic-revoked line",
                have.size,
                cp,
                split_view=True,
            )
    elif req.old_size == 0:
        if req.proof:
            return AddCheckpointOutcome(422, "the proof must be empty when old size is 0", 0, cp)
    else:
        assert have.root is not None
        try:
            verify_consistency(req.old_size, cp.size, req.proof, have.root, cp.root)
        except ProofMismatchError as e:
            return AddCheckpointOutcome(422, f"consistency proof: {e}", have.size, cp)
    return AddCheckpointOutcome(200, "cosigned", have.size, cp)


# -- split views --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SplitViewResult:
    """Whether two checkpoint notes signed by one log key prove that it misbehaved.

    verdict: ``split`` (same size, different roots: both signatures verify, so this is a
    proof anyone can check), ``consistent`` (same tree, or the consistency proof verifies), or
    ``unproven`` (different sizes and no verifying proof: only the log can produce one; a
    replay of the ledger decides)."""

    verdict: str
    reason: str
    first: Checkpoint
    second: Checkpoint
    notes: tuple[bytes, bytes]

    def explain(self) -> str:
        """The verdict, its reason and both checkpoints as lines of text."""
        a, b = self.first, self.second
        lines = [
            f"verdict: {self.verdict}",
            f"reason: {self.reason}",
            f"origin: {a.origin}",
            f"first: size {a.size} root (base64): {b64std_encode(a.root)}",
            f"second: size {b.size} root (base64): {b64std_encode(b.root)}",
        ]
        if self.verdict == "split":
            lines.append("proof: both notes below verify under the log key")
            for n in self.notes:
                lines += ["", n.decode("utf-8").rstrip("\n")]
        return "\n".join(lines)


def _checkpoint_of(note: bytes) -> Checkpoint:
    """The checkpoint in a note the witness stored (it verified it then)."""
    return parse_checkpoint(parse_note(note).text)


def _revoked_lines_differ(a: Checkpoint, b: Checkpoint) -> bool:
    """Both notes state a revoked set (one well-formed lic-revoked line each) and the
    statements differ (one tree has one line: another version counts as another line). A
    note without the line, or with a malformed one, states nothing."""
    try:
        x, y = find_revset_commitment(a.extensions), find_revset_commitment(b.extensions)
    except LicError:
        return False
    return x is not None and y is not None and x != y  # version, size or root


def split_view_result(
    note1: bytes,
    note2: bytes,
    log: Ed25519NoteVerifier,
    proof: Sequence[bytes] | None = None,
) -> SplitViewResult:
    """Verify both notes under the log key (raising if either does not verify) and decide
    whether they are a split view. ``proof``: a consistency proof from the smaller to the
    larger size, when they differ."""
    s1, _ = open_checkpoint(note1, log)
    s2, _ = open_checkpoint(note2, log)
    a, b = s1.checkpoint, s2.checkpoint
    notes = (s1.note, s2.note)
    if b.size < a.size:
        a, b = b, a
        notes = (notes[1], notes[0])
    if a.size == b.size:
        if a.root != b.root:
            return SplitViewResult(
                "split",
                "two signed checkpoints of the same size with different roots",
                a,
                b,
                notes,
            )
        if _revoked_lines_differ(a, b):
            # SPEC 12.1: the revoked set is a function of the records below the size, so one
            # tree has one true line; two signed lines for it prove one of them false.
            return SplitViewResult(
                "split",
                "the same tree with different lic-revoked lines: the revoked set is a "
                "function of the tree, so the log signed a false one",
                a,
                b,
                notes,
            )
        return SplitViewResult("consistent", "the same tree", a, b, notes)
    if a.size == 0:
        return SplitViewResult("consistent", "every tree extends the empty tree", a, b, notes)
    if proof is None:
        return SplitViewResult(
            "unproven", "different sizes: a consistency proof from the log decides", a, b, notes
        )
    try:
        verify_consistency(a.size, b.size, proof, a.root, b.root)
    except ProofMismatchError as e:
        return SplitViewResult(
            "unproven",
            f"the given consistency proof does not verify ({e}); a valid one from the log, "
            "or a replay of the ledger, decides",
            a,
            b,
            notes,
        )
    return SplitViewResult("consistent", "the consistency proof verifies", a, b, notes)
