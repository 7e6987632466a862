"""The log as a verifier's and a licensee's online source (SPEC 16.7): a bundle made from
the service (``bundle_from_log``: the latest cosigned checkpoint, inclusion proofs computed
from its tiles, revoked-set proofs from a replay of its entry bundles) and the evidence that
ties a bundle to the log's latest checkpoint (``online_update``: the consistency proof from
the tiles and each link's revoked-set proof now, a bundle update of SPEC 10.6 that
``verify_bundle`` checks against the latest note). Both follow the log first, in a state
directory that a caller may keep between runs (else a temporary one: a full replay), so what
they say rests on a checkpoint whose records and revoked-set line were checked."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import lic
from keys.errors import LedgerIntegrityError, MalformedError

from ..bundle import (
    Bundle,
    BundleUpdate,
    TrustPolicy,
    bundle_links,
    encode_bundle,
    encode_update,
    parse_bundle,
)
from ..state import LedgerState, StoredRevokedSet, TokenStatus, revoked_set_in
from ..tlog import (
    BlobRef,
    Ed25519NoteVerifier,
    RevokedSet,
    Tile,
    find_revset_commitment,
    format_receipt,
    parse_checkpoint,
    parse_entry_bundle,
    parse_note,
)
from ._follow import FollowResult, follow_log
from ._http import MAX_BLOB, MAX_BUNDLE, Fetch, HttpLog, UnreachableError
from ._store import FollowStore
from ._tiles import TileReader

__all__ = ["OnlineUpdate", "bundle_from_log", "online_update"]


@dataclass(frozen=True, slots=True)
class OnlineUpdate:
    """The log's latest checkpoint note, the bundle update that ties a bundle to it, and each
    link's status now (SPEC 14.5, at the time given), from the followed log."""

    note: bytes
    update: bytes
    followed: FollowResult
    statuses: tuple[TokenStatus, ...]


@contextlib.contextmanager
def _followed(
    url: str, state_dir: str | os.PathLike[str] | None, log_vkey: str, now: int, fetch: Fetch
) -> Iterator[tuple[FollowResult, LedgerState, TileReader]]:
    """Follow the log (in ``state_dir``, or a temporary directory) and yield the result (its
    note: the newest checkpoint verified), the replayed state and the tiles at its size,
    read-only (the transaction is rolled back)."""
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="lic-follow-"))
        r = follow_log(url, state_dir, now=now, log_vkey=log_vkey, fetch=fetch)
        if r.evidence:
            ev = r.evidence[0]
            raise LedgerIntegrityError(
                f"the log at {url} misbehaves ({ev.kind}): {ev.message}; evidence in "
                f"{', '.join(r.evidence_files)}"
            )
        store = FollowStore(state_dir)
        stack.callback(store.rollback)
        state = _state(store, r)
        stack.callback(state.close)
        if r.status == "older":  # a cache served an older tree: the newest one verified
            latest = store.latest()
            assert latest is not None  # the state is past that size
            r.note, r.size = latest.note, latest.size
        yield r, state, TileReader(fetch, store.size)


def _state(store: FollowStore, r: FollowResult) -> LedgerState:
    return LedgerState(Ed25519NoteVerifier.from_vkey(r.log_vkey).public_key.raw, store.conn)


def _revset(note: bytes, state: LedgerState) -> RevokedSet | StoredRevokedSet:
    """The followed set in the version of the note's revoked-set line (the follower checked
    that line against the same state), for the links' proofs: v2 from the state's tree."""
    line = find_revset_commitment(parse_checkpoint(parse_note(note).text).extensions)
    return revoked_set_in(state.conn, 2 if line is None else line.version)


def _record(fetch: Fetch, tiles: TileReader, index: int) -> bytes:
    """Record ``index`` from its entry bundle (or its blob) at the tiles' size."""
    size = tiles.size
    n = index >> 8
    width = 256 if n < size >> 8 else size & 255
    t = Tile(-1, n, width)
    data = fetch(t.path, MAX_BUNDLE)
    if data is None:
        raise UnreachableError(f"the log does not serve {t.path} (size {size})")
    entry = parse_entry_bundle(data, width)[index - t.start]
    if isinstance(entry, BlobRef):
        blob = fetch(entry.path, MAX_BLOB)
        if blob is None:
            raise UnreachableError(f"the log does not serve {entry.path}")
        return blob
    return entry


def bundle_from_log(
    url: str,
    token_chain: Sequence[bytes | str],
    *,
    log_vkey: str,
    now: int,
    state_dir: str | os.PathLike[str] | None = None,
    fetch: Fetch | None = None,
) -> bytes:
    """A bundle (SPEC 10.1) for ``token_chain`` (root first) at the log's latest checkpoint as
    served at ``url`` with its cosignatures, made from the log's tiles and entry bundles after
    following it (the log key pinned: ``log_vkey``). Every link must be granted below that
    checkpoint's size."""
    if not token_chain:
        raise MalformedError("bundle: no tokens")
    tokens = [t.encode("ascii") if isinstance(t, str) else bytes(t) for t in token_chain]
    client = HttpLog(url) if fetch is None else fetch
    with _followed(url, state_dir, log_vkey, now, client) as (r, state, tiles):
        revset = _revset(r.note, state)
        links = bundle_links(
            tokens,
            state,
            revset,
            lambda index: format_receipt(
                index, tiles.inclusion(index), r.note, extra=_record(client, tiles, index)
            ),
            f"below size {tiles.size} of the log at {url}",
        )
    out = encode_bundle(Bundle(r.note, links))
    parse_bundle(out)  # the format's own limits (links, sizes), as a verifier reads it
    return out


def online_update(
    url: str,
    bundle_bytes: bytes,
    policy: TrustPolicy,
    *,
    now: int,
    state_dir: str | os.PathLike[str] | None = None,
    fetch: Fetch | None = None,
) -> OnlineUpdate:
    """Follow the log of ``bundle_bytes``'s checkpoint at ``url`` (its key: the policy's for
    the origin) and return its latest note with the bundle update (SPEC 10.6) from the
    bundle's checkpoint to it, and each link's status at ``now``. A bundle whose tree the
    log's tiles do not extend still gets its update: ``verify_bundle`` then fails it."""
    b = parse_bundle(bundle_bytes)
    old = parse_checkpoint(parse_note(b.checkpoint).text)
    log_vkey = policy.log_verifier(old.origin, now).vkey
    client = HttpLog(url) if fetch is None else fetch
    with _followed(url, state_dir, log_vkey, now, client) as (r, state, tiles):
        new = tiles.size
        if new < old.size:
            raise UnreachableError(
                f"{url} serves size {new}, below the bundle's {old.size}: not the latest "
                "state of the bundle's log; retry"
            )
        proof = tiles.consistency(old.size) if 0 < old.size < new else []
        digests = [lic.token_digest(x.token) for x in b.links]
        absent: list[bytes] = []
        if new > old.size:
            revset = _revset(r.note, state)
            absent = [revset.proof_text(d) for d in digests]
        update = encode_update(BundleUpdate(old.size, new, tuple(proof), tuple(absent)))
        statuses = tuple(state.status(d, now) for d in digests)
    return OnlineUpdate(r.note, update, r, statuses)
