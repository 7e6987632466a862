"""`lic bundle create`, `lic bundle update` and `lic verify --bundle`: offline license bundles
(SPEC 10)."""

from __future__ import annotations

import time
from pathlib import Path

import click

import lic
from keys import write_atomic
from ledger.bundle import (
    MAX_BUNDLE_SIZE,
    MAX_POLICY_SIZE,
    MAX_UPDATE_SIZE,
    create_bundle,
    create_update,
    parse_bundle,
    parse_policy,
    verify_bundle,
)
from ledger.tlog import MAX_NOTE_SIZE, parse_checkpoint, parse_note

from ._decision import decision_lines
from ._hints import hinted
from ._ledgeropts import db_option
from ._logopts import LogOptions, log_options
from ._output import emit, json_option, read_input
from ._params import at_option
from ._tokenfile import read_token
from ._useopts import UseOptions, use_options

__all__ = ["bundle_group", "verify_cmd"]

EXIT_FOR_EFFECT = {"permit": 0, "valid": 0, "deny": 1, "invalid": 1, "indeterminate": 3}


@click.group("bundle")
def bundle_group() -> None:
    """Offline license bundles: a token chain with its ledger evidence, in one file."""


@bundle_group.command("create")
@click.argument("token_file", metavar="TOKEN", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--chain",
    "parents",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PARENT",
    help="A token above TOKEN, root first (repeatable; TOKEN is the leaf).",
)
@click.option(
    "--size",
    type=click.IntRange(min=1),
    default=None,
    help="Use the stored checkpoint of this size (default: the latest).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the bundle here (default: TOKEN with the suffix .bundle).",
)
@db_option
@log_options
@json_option
def create_cmd(
    token_file: Path,
    parents: tuple[Path, ...],
    size: int | None,
    out: Path | None,
    db: Path,
    log: LogOptions,
    as_json: bool,
) -> None:
    """Make a bundle for TOKEN from the ledger --db at its latest checkpoint.

    The bundle holds the chain (the --chain tokens, root first, then TOKEN), each link's grant
    record with its tlog-proof@v1 receipt, the checkpoint with its stored cosignatures, and a
    revoked-set proof for each link. Every link must be granted below the checkpoint's size.
    With --log URL (and --log-key), from the service instead: the latest checkpoint it serves,
    after following the log (its records replayed, its revoked-set line checked), the proofs
    computed from its tiles.
    """
    tokens = [read_token(p) for p in (*parents, token_file)]
    if log.url is not None:
        if size is not None:
            raise click.UsageError("--size is for --db; --log uses the latest checkpoint")
        data = log.bundle(tokens)
    else:
        from ledger.store import Ledger  # SQLite: only to make a bundle, not to verify one

        with Ledger.open(db) as led:
            data = create_bundle(led, tokens, size=size)
    target = out if out is not None else token_file.with_suffix(".bundle")
    write_atomic(target, data, mode=0o644, overwrite=True)
    b = parse_bundle(data)
    cp = parse_checkpoint(parse_note(b.checkpoint).text)
    info = {
        "out": str(target),
        "bytes": len(data),
        "links": len(b.links),
        "checkpoint_size": cp.size,
        "leaf": lic.token_digest(tokens[-1]).hex(),
    }
    emit(info, as_json=as_json, text=f"wrote {target} ({len(data)} bytes, checkpoint {cp.size})")


@bundle_group.command("update")
@click.argument("bundle_file", metavar="BUNDLE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--size",
    type=click.IntRange(min=0),
    default=None,
    help="Lead to the stored checkpoint of this size (default: the latest).",
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the update here.",
)
@db_option
@json_option
def update_cmd(bundle_file: Path, size: int | None, out: Path, db: Path, as_json: bool) -> None:
    """Write the evidence tying BUNDLE to the ledger's latest checkpoint (SPEC 10.6).

    The update holds the consistency proof between the bundle's checkpoint and that one and,
    when it is newer, a revoked-set proof for each link, so that 'lic verify --checkpoint
    NOTE --update FILE' finds a revocation recorded after the bundle was made.
    """
    from ledger.store import Ledger  # SQLite: only to make an update, not to verify one

    bundle = read_input(bundle_file, MAX_BUNDLE_SIZE, "bundle")
    with hinted(bundle_file, "bundle"), Ledger.open(db) as led:
        data = create_update(led, bundle, size=size)
        cp = led.latest_checkpoint() if size is None else led.checkpoint_at(size)
    assert cp is not None  # create_update found it
    write_atomic(out, data, mode=0o644, overwrite=True)
    old = parse_checkpoint(parse_note(parse_bundle(bundle).checkpoint).text).size
    new = cp.checkpoint.size
    info = {"out": str(out), "bytes": len(data), "bundle_size": old, "checkpoint_size": new}
    emit(info, as_json=as_json, text=f"wrote {out} (bundle checkpoint {old} -> checkpoint {new})")


@click.command("verify")
@click.option(
    "--bundle",
    "bundle_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bundle file.",
)
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The trust policy (JSON, SPEC 10.3).",
)
@click.option(
    "--checkpoint",
    "held_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A newer checkpoint note this verifier holds: revocations up to it are checked too "
    "(needs --update).",
)
@click.option(
    "--update",
    "update_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The evidence tying the bundle to --checkpoint ('lic bundle update').",
)
@use_options
@at_option
@log_options
@json_option
def verify_cmd(
    bundle_file: Path,
    policy_file: Path,
    held_file: Path | None,
    update_file: Path | None,
    use_opts: UseOptions,
    at: int | None,
    log: LogOptions,
    as_json: bool,
) -> None:
    """Verify a bundle OFFLINE against a trust policy, then decide a proposed use.

    Checks the token chain, each grant's inclusion at the checkpoint, that each record grants
    its link, the checkpoint's log signature, the witness quorum, the checkpoint's age and
    that no link is revoked. Exit 0 permit (or valid, with no use given), 1 deny or a failed
    check (the reason names it, e.g. revoked), 2 malformed input, 3 indeterminate. With
    --checkpoint NOTE and --update FILE, also that the bundle's tree is consistent with NOTE
    and that no link is revoked as of NOTE. With --log URL, online: the same checks against
    the log's latest checkpoint, fetched and followed (records replayed, revoked-set line
    checked); a revocation recorded since the bundle turns PERMIT into DENY, with the records.
    """
    if update_file is not None and held_file is None:
        raise click.UsageError("--update needs --checkpoint (the note it leads to)")
    if log.url is not None:
        if held_file is not None:
            raise click.UsageError("--log fetches the latest checkpoint: no --checkpoint")
        if log.log_key is not None:
            raise click.UsageError("--log-key is for bundle create; verify takes the policy's")
    now = int(time.time()) if at is None else at
    use = use_opts.use(now) if use_opts.given else None
    with hinted(policy_file, "trust policy"):
        policy = parse_policy(read_input(policy_file, MAX_POLICY_SIZE, "policy"))
    bundle = read_input(bundle_file, MAX_BUNDLE_SIZE, "bundle")
    held = read_input(held_file, MAX_NOTE_SIZE, "checkpoint") if held_file else None
    update = read_input(update_file, MAX_UPDATE_SIZE, "update") if update_file else None
    with hinted(bundle_file, "bundle"):  # it raises only on input that does not parse
        result = verify_bundle(bundle, policy, now=now, use=use, held_checkpoint=held,
                               update=update)  # fmt: skip
    if log.url is not None:
        effect, out, lines = log.verify(bundle, policy, result, now=now, use=use)
    else:
        effect, out = result.effect, {"at": now, **result.to_dict()}
        lines = [result.effect.upper() + (f" ({result.reason})" if result.reason else "")]
        for c in result.checks:
            lines.append(f"  {c.status:4s}  {c.name:14s} {c.detail}")
        if result.decision is not None:
            lines += decision_lines(result.decision)
    emit(out, as_json=as_json, text="\n".join(lines))
    code = EXIT_FOR_EFFECT[effect]
    if code:
        click.get_current_context().exit(code)
