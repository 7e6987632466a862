"""``lic ledger follow``: monitor a log served as C2SP tlog-tiles (SPEC 16.7)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ledger.bundle import MAX_POLICY_SIZE, parse_policy
from ledger.follow import FollowResult, UnreachableError, follow_log, log_base_url

from ._output import emit, json_option, read_input
from ._params import read_vkey

__all__ = ["follow_cmd"]


def _text(r: FollowResult, state: Path) -> str:
    lines = []
    if r.first_use:
        lines.append(
            f"TRUST ON FIRST USE: pinned the log key {r.log_vkey} for {r.origin} in {state}; "
            "every later run checks the log against this key"
        )
    what = {
        "advanced": f"verified size {r.size} (was {r.old_size}): {r.records} new record(s) "
        f"replayed, revoked set of {r.revoked}, root (hex) {r.root.hex()}",
        "unchanged": f"size {r.size}: nothing new since the last run",
        "older": f"the log serves an older checkpoint (size {r.size}, verified {r.old_size}); "
        "it is a prefix of the verified tree",
        "misbehaving": f"MISBEHAVIOUR at size {r.size}; the state was not advanced",
    }[r.status]
    lines.append(f"{r.origin}: {what}")
    for ev, path in zip(r.evidence, r.evidence_files, strict=True):
        lines.append(f"evidence ({ev.kind}): {ev.message} [{path}]")
        lines += [n.decode("utf-8", "replace").rstrip("\n") for n in ev.notes]
    return "\n".join(lines)


@click.command("follow")
@click.argument("url")
@click.option(
    "--state",
    "state",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the follower's state (created on the first run, resumed after).",
)
@click.option(
    "--log-key",
    "log_key",
    metavar="VKEY",
    help="The log's verifier key (inline or a file); needed on the first run unless --policy "
    "names it, then pinned in --state.",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A trust policy (SPEC 10.3): each checkpoint must carry its witness quorum.",
)
@click.option("--once", "once", is_flag=True, help="Follow once and exit (the default).")
@click.option(
    "--interval",
    type=click.IntRange(min=1),
    metavar="S",
    help="Follow every S seconds until the log misbehaves (exit 1) or a signal stops it.",
)
@json_option
def follow_cmd(
    url: str,
    state: Path,
    log_key: str | None,
    policy_file: Path | None,
    once: bool,
    interval: int | None,
    as_json: bool,
) -> None:
    """Follow the log at URL: verify, replay and check each new checkpoint.

    Fetches /checkpoint and verifies it under the pinned log key (and the policy's witness
    quorum), checks that it extends the last checkpoint verified (a consistency proof
    computed from the log's tiles), fetches only the new entry bundles, replays the new
    records with the audit's checks into the state kept in --state, and checks the
    checkpoint's revoked-set line (lic-revoked/v2, or a legacy v1) against the replayed
    set. Exit 0 when the log behaved, 1 on a fork or a false statement (the evidence is
    printed and written to --state/evidence/), 3 when the log cannot be read (the state is
    untouched).
    """
    if once and interval is not None:
        raise click.UsageError("--once and --interval exclude each other")
    log_base_url(url)
    vkey = read_vkey(log_key, "log key") if log_key is not None else None
    policy = None
    if policy_file is not None:
        policy = parse_policy(read_input(policy_file, MAX_POLICY_SIZE, "policy"))
    while True:
        try:
            r = follow_log(url, state, now=int(time.time()), log_vkey=vkey, policy=policy)
        except UnreachableError as e:
            if interval is None:
                raise
            click.echo(f"lic: {e}", err=True)  # a monitor outlives an outage: next round
        else:
            emit(r.to_dict(), as_json=as_json, text=_text(r, state))
            if not r.ok:
                sys.exit(1)
        if interval is None:
            return
        sys.stdout.flush()
        time.sleep(interval)
