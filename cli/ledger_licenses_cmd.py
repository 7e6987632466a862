"""``lic ledger grant|revoke|suspend|reinstate|status``: licenses on the ledger."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

import lic
from keys import SigningKey
from ledger.entries import grant_payload
from ledger.store import Ledger, token_status

from ._codes import REVOCATION_REASON_CHOICES
from ._ledgeropts import (
    MAX_TOKEN_FILE,
    Progress,
    append_typed,
    author_options,
    commitment,
    db_option,
    token_digest,
    with_commitment,
)
from ._output import emit, json_option, read_input
from ._params import DIGEST, TIME

__all__ = ["grant_cmd", "reinstate_cmd", "revoke_cmd", "status_cmd", "suspend_cmd"]


@click.command("grant")
@click.argument("token", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@with_commitment
@click.option(
    "--request",
    "request",
    type=click.IntRange(min=0),
    help="The access request this grant answers.",
)
@author_options()
def grant_cmd(
    token: Path,
    identifier: str | None,
    salt_file: Path | None,
    given: bytes | None,
    request: int | None,
    **opts: Any,
) -> None:
    """Record the grant of TOKEN, signed by the key that signed the token (its issuer, or for a
    sublicense its parent's holder). The licensee appears only as a salted commitment of the
    token's subject (default identifier: the token's sub)."""
    raw = read_input(token, MAX_TOKEN_FILE, "token").strip()
    at: int = opts["at"]

    def build(_led: Ledger | None, author: SigningKey, _progress: Progress) -> dict[str, Any]:
        tok = lic.verify_with_key(raw, author.public_key, now=max(at, 0))
        licensee = commitment(identifier or tok.sub, salt_file, given)
        p = grant_payload(tok, licensee, at=at, request=request)
        p.pop("at")
        return p

    append_typed(opts, "grant", build)


def withdrawal_command(entry_type: str, verb: str, reasons: list[str] | None) -> Any:
    """The command that appends a ``revoke``, ``suspend`` or ``reinstate`` entry."""

    @click.option(
        "--token",
        "tokens",
        multiple=True,
        help="A token digest (64 hex digits) or a token file (repeatable).",
    )
    @click.option("--licensee", type=DIGEST, help="Every token of this licensee commitment.")
    @click.option(
        "--reason", required=reasons is not None, type=click.Choice(reasons) if reasons else None
    )
    @click.option("--effective", type=TIME, default="now")
    @click.option(
        "--cascade/--no-cascade",
        default=True,
        show_default=True,
        help="Also every sublicense below.",
    )
    @click.option(
        "--incident",
        "incidents",
        multiple=True,
        type=click.IntRange(min=0),
        help="A linked incident report (record index, repeatable).",
    )
    @click.option("--note")
    @author_options()
    def cmd(
        tokens: tuple[str, ...],
        licensee: bytes | None,
        reason: str | None,
        effective: int,
        cascade: bool,
        incidents: tuple[int, ...],
        note: str | None,
        **opts: Any,
    ) -> None:
        p: dict[str, Any] = {"effective": effective, "cascade": cascade}
        if tokens:
            p["tokens"] = [token_digest(t) for t in tokens]
        if licensee is not None:
            p["licensee"] = licensee
        if reason is not None:
            p["reason"] = reason
        if incidents:
            p["incidents"] = list(incidents)
        if note:
            p["note"] = note
        append_typed(opts, entry_type, lambda *_: p)

    cmd.__doc__ = f"{verb} tokens (and, with cascade, every sublicense below them)."
    return click.command(entry_type)(cmd)


revoke_cmd = withdrawal_command("revoke", "Revoke", REVOCATION_REASON_CHOICES)
suspend_cmd = withdrawal_command("suspend", "Suspend", REVOCATION_REASON_CHOICES)
reinstate_cmd = withdrawal_command("reinstate", "Reinstate", None)


@click.command("status")
@click.argument("token")
@click.option("--at", "at", type=TIME, default="now", help="Status at this time.")
@db_option
@json_option
def status_cmd(token: str, at: int, db: Path, as_json: bool) -> None:
    """Say whether TOKEN (a file or its digest) is active, not yet valid, expired, suspended,
    revoked or unknown at --at, and which records say so. Exit 0 active, 1 not (SPEC 14.5)."""
    digest = token_digest(token)
    with Ledger.open(db) as led:
        st = token_status(led, digest, at)
    info = {
        "digest": digest.hex(),
        "status": st.status,
        "evidence": list(st.evidence),
        "via": st.via.hex() if st.via else None,
        "at": at,
    }
    via = f" (through parent {st.via.hex()[:16]}...)" if st.via else ""
    emit(
        info,
        as_json=as_json,
        text=f"{st.status}{via}; records: {', '.join(map(str, st.evidence)) or 'none'}",
    )
    if st.status != "active":
        sys.exit(1)
