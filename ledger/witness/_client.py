"""The log side of the witness protocol: post a checkpoint to witnesses over HTTP, collect
their cosignatures into the ledger, or add cosignatures obtained offline.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from keys.errors import LicError, MalformedError, VerificationError

from ..store import Ledger
from ..tlog import CosignatureV1Verifier, open_note, parse_signature_lines
from ._protocol import SIZE_CONTENT_TYPE, format_add_checkpoint_request

__all__ = [
    "CosignatureCollection",
    "WitnessAnswer",
    "WitnessReport",
    "add_offline_cosignatures",
    "collect_cosignatures",
    "post_add_checkpoint",
]

MAX_RESPONSE = 64 * 1024
CLIENT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class WitnessAnswer:
    """A witness's HTTP answer to add-checkpoint: status, content type and body."""

    status: int
    content_type: str
    body: bytes


def _check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MalformedError(f"witness URL must be http(s)://host[:port][/prefix]: {url!r}")
    return url.rstrip("/") + "/add-checkpoint"


def post_add_checkpoint(
    url: str, old_size: int, proof: Sequence[bytes], note: bytes, timeout: float = CLIENT_TIMEOUT
) -> WitnessAnswer:
    """POST one add-checkpoint request to the witness at submission prefix ``url``."""
    target = _check_url(url)
    body = format_add_checkpoint_request(old_size, proof, note)
    req = urllib.request.Request(  # noqa: S310  (scheme checked above)
        target, data=body, method="POST", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return WitnessAnswer(
                resp.status, resp.headers.get("Content-Type", ""), resp.read(MAX_RESPONSE)
            )
    except urllib.error.HTTPError as e:
        with e:
            return WitnessAnswer(e.code, e.headers.get("Content-Type", ""), e.read(MAX_RESPONSE))


@dataclass(frozen=True, slots=True)
class WitnessReport:
    """One witness's answer to ``collect_cosignatures``: whether it cosigned (``ok``), why not
    (``detail``), and the trusted witness names its cosignatures verified under."""

    url: str
    ok: bool
    detail: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CosignatureCollection:
    """What ``collect_cosignatures`` got: per witness URL a report, the distinct trusted
    witnesses that cosigned, and whether ``quorum`` of them did."""

    size: int
    reports: tuple[WitnessReport, ...]
    cosigners: tuple[str, ...]
    stored: int
    quorum: int

    @property
    def met(self) -> bool:
        """Whether at least ``quorum`` distinct trusted witnesses cosigned."""
        return len(self.cosigners) >= self.quorum


def _ask(
    ledger: Ledger,
    url: str,
    note: bytes,
    size: int,
    witnesses: Sequence[CosignatureV1Verifier],
    timeout: float,
) -> tuple[WitnessReport, list[str]]:
    old = 0
    for _ in range(2):  # old size 0 first; a 409 names the witness's size
        proof = ledger.consistency_proof(old, size) if 0 < old < size else []
        ans = post_add_checkpoint(url, old, proof, note, timeout)
        if ans.status == 409 and ans.content_type.startswith(SIZE_CONTENT_TYPE):
            text = ans.body.decode("ascii", "replace")
            if not text.endswith("\n") or not text[:-1].isdigit() or len(text) > 21:
                return WitnessReport(url, False, "409 with a malformed size body"), []
            old = int(text[:-1])
            if old > size:
                return WitnessReport(url, False, f"witness is at size {old} > {size}"), []
            continue
        if ans.status != 200:
            reason = ans.body.decode("utf-8", "replace").strip()[:200]
            return WitnessReport(url, False, f"HTTP {ans.status}: {reason}"), []
        try:
            sigs = parse_signature_lines(ans.body)
            verified = open_note(note + "".join(s.line() for s in sigs).encode(), witnesses)
        except LicError as e:
            return WitnessReport(url, False, f"bad cosignature: {e}"), []
        mine = list(verified.verified)  # only trusted witness keys verify
        if not mine:
            return WitnessReport(url, False, "no cosignature by a trusted witness key"), []
        names = tuple(s.name for s in mine)
        return WitnessReport(url, True, "cosigned", names), [s.line() for s in mine]
    return WitnessReport(url, False, "the witness keeps answering 409"), []


def collect_cosignatures(
    ledger: Ledger,
    urls: Sequence[str],
    witnesses: Sequence[CosignatureV1Verifier],
    quorum: int,
    *,
    timeout: float = CLIENT_TIMEOUT,
) -> CosignatureCollection:
    """Ask every witness at ``urls`` to cosign the latest checkpoint, keep the cosignatures
    that verify under ``witnesses`` (others are ignored) and store them with the checkpoint.
    A witness that is down or refuses is reported, not raised."""
    if not urls or not witnesses:
        raise MalformedError("cosign: give at least one witness URL and one witness key")
    if not 1 <= quorum <= len(witnesses):
        raise MalformedError("cosign: the quorum must be between 1 and the number of keys")
    cp = ledger.latest_checkpoint()
    if cp is None:
        raise MalformedError("ledger: no checkpoint yet")
    size = cp.checkpoint.size
    reports: list[WitnessReport] = []
    lines: list[str] = []
    for url in urls:
        try:
            report, got = _ask(ledger, url, cp.note, size, witnesses, timeout)
        except (OSError, urllib.error.URLError) as e:
            report, got = WitnessReport(url, False, f"unreachable: {e}"), []
        reports.append(report)
        lines += got
    stored = ledger.add_cosignatures(size, lines) if lines else 0
    names = sorted({n for r in reports for n in r.names})
    return CosignatureCollection(size, tuple(reports), tuple(names), stored, quorum)


def add_offline_cosignatures(
    ledger: Ledger,
    lines: bytes | str,
    witnesses: Sequence[CosignatureV1Verifier],
    size: int | None = None,
) -> tuple[int, tuple[str, ...]]:
    """Store cosignature lines made offline (``lic witness cosign``) with the checkpoint at
    ``size`` (default: the latest). Every line must verify under one of ``witnesses`` over
    that checkpoint, or nothing is stored (VerificationError). Returns (lines added or
    replaced, the witnesses' names)."""
    if not witnesses:
        raise MalformedError("cosignatures: give at least one witness key")
    cp = ledger.latest_checkpoint() if size is None else ledger.checkpoint_at(size)
    if cp is None:
        raise MalformedError("ledger: no checkpoint" + ("" if size is None else f" at size {size}"))
    sigs = parse_signature_lines(lines)
    known = {(w.name, w.key_hash) for w in witnesses}
    stray = [s.name for s in sigs if (s.name, s.key_hash) not in known]
    if stray:
        raise VerificationError(f"cosignatures: not by a given witness key: {', '.join(stray)}")
    # every line is by a given key now, so every line is checked (a bad one raises)
    open_note(cp.note + "".join(s.line() for s in sigs).encode(), witnesses)
    stored = ledger.add_cosignatures(cp.checkpoint.size, [s.line() for s in sigs])
    return stored, tuple(sorted({s.name for s in sigs}))
