"""The auditing witness (SPEC 16.8): before it cosigns a checkpoint of its log, it follows the
log to that checkpoint (``ledger.follow``: the tree from the log's tiles, every record replayed
with the audit's checks) and recomputes the ``lic-revoked`` line (v2, or v1), so its
cosignature vouches for the revocation statement as well as for the append-only tree.

``AuditingGate`` is called by the witness server for each add-checkpoint request the plain
witness would cosign (``decide_add_checkpoint`` says 200 on the stored state); it answers None
(go on and cosign) or a ``GateRefusal``: 503 with ``Retry-After`` when the witness cannot
follow the log to that size yet (the log does not serve its tiles yet, or cannot be read; C2SP
tlog-witness defines no status for "not yet", so this is HTTP's for a temporary condition), 422
when following shows the checkpoint false (a revoked-set line that is not the replay's, a
record that fails the audit's checks, a tree that is not the last one's extension)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from keys.errors import LicError

from ..tlog import Ed25519NoteVerifier, open_checkpoint, parse_checkpoint, parse_note
from ._protocol import AddCheckpointRequest, decide_add_checkpoint
from ._store import Witness

__all__ = ["NOT_YET_RETRY_AFTER", "NOT_YET_STATUS", "AuditingGate", "GateRefusal"]

NOT_YET_STATUS = 503
NOT_YET_RETRY_AFTER = 5  # seconds a log is asked to wait before it asks again


@dataclass(frozen=True, slots=True)
class GateRefusal:
    """Why the auditing witness does not cosign: an HTTP status, a one-line reason, and for a
    "not yet" the seconds to wait (``Retry-After``)."""

    status: int
    reason: str
    retry_after: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class AuditingGate:
    """Follows the log served at ``url`` (one log: the witness's log of that origin) with its
    state in ``state_dir``; one request follows at a time."""

    def __init__(self, url: str, state_dir: str | Path) -> None:
        # the follower (the audit's checks, an HTTP client) loads only for an auditing witness
        from ..follow import log_base_url

        self.url = log_base_url(url)
        self.state_dir = Path(state_dir)
        self._lock = threading.Lock()

    def __call__(self, witness: Witness, req: AddCheckpointRequest, now: int) -> GateRefusal | None:
        """None when the plain witness would refuse anyway (it answers) or when the follower
        reached the checkpoint and found it true; a refusal otherwise."""
        try:
            origin = parse_checkpoint(parse_note(req.note).text).origin
        except LicError:
            return None
        vkey = witness.logs().get(origin)
        if vkey is None:
            return None
        log = Ed25519NoteVerifier.from_vkey(vkey)
        if not decide_add_checkpoint(witness.head(origin), log, req).accepted:
            return None
        size = open_checkpoint(req.note, log)[0].checkpoint.size
        from ..follow import UnreachableError, follow_log

        with self._lock:
            try:
                r = follow_log(self.url, self.state_dir, now=now, log_vkey=vkey, note=req.note)
            except UnreachableError as e:
                return GateRefusal(
                    NOT_YET_STATUS,
                    f"not yet: the witness could not follow the log to size {size}: {e}",
                    NOT_YET_RETRY_AFTER,
                )
            except LicError as e:
                return GateRefusal(422, f"the witness cannot follow the log to size {size}: {e}")
        if r.evidence:
            return GateRefusal(422, f"refusing to cosign: {r.evidence[0].message}")
        if r.status == "older":
            return GateRefusal(
                422, f"the witness followed the log past size {size}: it cannot vouch for it"
            )
        return None
