"""``lic ledger audit``: replay the whole ledger and check everything."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ledger.audit import audit_db, audit_jsonl, audit_summary

from ._output import emit, json_option
from ._params import read_vkey
from ._replayopts import ReplaySource, replay_options

__all__ = ["audit_cmd"]


@click.command("audit")
@replay_options
@click.option(
    "--since",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint note saved earlier that the ledger must still extend.",
)
@click.option(
    "--log-key",
    "log_key",
    metavar="VKEY",
    help="Pin the log's verifier key (a file or the key inline): the input must be signed by "
    "it. Without it the audit trusts the key the ledger or export names, and says so.",
)
@json_option
def audit_cmd(source: ReplaySource, since: Path | None, log_key: str | None, as_json: bool) -> None:
    """Replay the whole ledger and check everything; exit 0 when clean, 1 with findings.

    Checks encoding, indexes, the prev chain, the Merkle root at every checkpoint and each
    checkpoint's signature, every entry's signature and author role at that time, schemas and
    cross-references; derives the licenses' state, open incidents and terms in force.
    """
    pin = read_vkey(log_key, "log key") if log_key is not None else None
    with source.progress() as progress:
        if source.db_path is None:
            assert source.jsonl is not None
            r = audit_jsonl(source.jsonl, since=since, progress=progress,
                            workers=source.workers, pinned_log_key=pin)  # fmt: skip
        else:
            r = audit_db(source.db_path, since=since, progress=progress,
                         workers=source.workers, pinned_log_key=pin)  # fmt: skip
    summary = audit_summary(r)
    trusted = "pinned" if r.log_key_pinned else (
        f"from the {'ledger' if source.jsonl is None else 'export'}, not pinned: pass --log-key"
    )  # fmt: skip
    lines = [
        f"log key: {r.log_vkey} ({trusted})",
        f"records: {r.size}",
        f"root (hex): {r.root.hex()}",
        f"checkpoints verified: {len(r.checkpoints)}",
        "licenses: " + ", ".join(f"{n} {k}" for k, n in summary["licenses"].items()),
        "open incidents: " + _first_few(summary["open_incidents"]),
        "terms in force: "
        + (", ".join(f"{k} {v}" for k, v in summary["terms_in_force"].items()) or "none"),
        f"stored state: {_STORED[r.stored_state]}",
        f"findings: {len(r.findings)}",
        *(f"  {f}" for f in r.findings),
    ]
    emit(summary, as_json=as_json, text="\n".join(lines))
    if r.findings:
        sys.exit(1)


FIRST_FEW = 10
_STORED = {  # AuditResult.stored_state, said for the auditor
    "equal": "equal to the replay",
    "differs": "differs from the replay (see the findings)",
    "absent": "none to compare (an export, or a file without state tables)",
    "not compared": "not compared (tables of another schema version, which the next write "
    "brings up to date, or the ledger grew during the audit)",
}


def _first_few(indexes: list[int]) -> str:
    """A count and the first FIRST_FEW indexes: one short line however many there are."""
    if not indexes:
        return "none"
    shown = ", ".join(map(str, indexes[:FIRST_FEW]))
    more = len(indexes) - FIRST_FEW
    return f"{len(indexes)} ({shown}{f' ... and {more} more' if more > 0 else ''})"
