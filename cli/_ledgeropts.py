"""Options and helpers shared by the 'lic ledger' commands that append typed entries, to the
ledger file (``--db``) or, with ``--submit URL``, through a running ``lic serve``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import lic
from keys import MalformedError, SigningKey, write_atomic
from ledger.entries import commitment as salted_commitment

from ._keyopts import keyring_option, load_signing_key, passphrase_options
from ._output import emit, json_option, read_input
from ._params import DIGEST, LEDGER, TIME
from ._replayopts import STATE_READ, replay_progress
from ._submit import submit_option

if TYPE_CHECKING:
    from ledger.store import Ledger

__all__ = [
    "MAX_TOKEN_FILE",
    "Progress",
    "append_typed",
    "author_options",
    "commitment",
    "db_option",
    "open_author",
    "submit_typed",
    "token_digest",
    "with_commitment",
]

MAX_TOKEN_FILE = lic.MAX_TOKEN_SIZE

# the progress callback a first read of the ledger's state reports to (None: none shown)
Progress = Callable[[int], None] | None

db_option = click.option(
    "--db",
    "db",
    type=LEDGER,
    envvar="LIC_LEDGER_DB",
    default="ledger.db",
    show_default=True,
    show_envvar=True,
    help="Ledger file (SQLite) or PostgreSQL URL (postgresql://...).",
)


_receipt_out_option = click.option(
    "--out",
    "-o",
    "receipt_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --submit: write the entry's receipt (tlog-proof) to FILE when the log sends it.",
)


def author_options(default_log: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """--key AUTHORKEY (default: the ledger's log key when ``default_log``), --at, the db and
    keyring options, --submit URL and -o FILE, passphrase options and --json."""

    def wrap(f: Callable[..., Any]) -> Any:
        helptext = "Author key in the keyring" + (
            " (default: the log key)." if default_log else "."
        )
        for deco in reversed(
            [
                click.option("--key", "key_name", metavar="AUTHORKEY", help=helptext),
                click.option("--at", "at", type=TIME, default="now", help="The author's time."),
                db_option,
                submit_option,
                _receipt_out_option,
                keyring_option,
                passphrase_options,
                json_option,
            ]
        ):
            f = deco(f)
        return f

    return wrap


def open_author(led: Ledger | None, opts: dict[str, Any], default_log: bool) -> SigningKey:
    """The author key named by --key (or the ledger's log key when ``default_log`` and a
    ledger is open); takes the key options out of ``opts``."""
    name = opts.pop("key_name")
    if name is None and default_log and led is not None:
        name = led.log_key_name
    if name is None:
        raise click.UsageError(
            "give --key LOGKEY (with --submit the ledger's log key is not known here)"
            if default_log
            else "give --key AUTHORKEY"
        )
    return load_signing_key(
        opts.pop("keyring_dir"), name, opts.pop("passphrase_file"), opts.pop("passphrase_env")
    )


def append_typed(
    opts: dict[str, Any],
    entry_type: str,
    build: Callable[[Ledger | None, SigningKey, Progress], dict[str, Any]],
    *,
    default_log: bool = False,
    author: SigningKey | None = None,
) -> None:
    """Open the ledger once, load the author, build the payload, append it, print index and
    leaf hash. ``build(ledger, author, progress)`` gets the open ledger, the author key and the
    progress callback for a first read of the ledger's state; with --submit, no ledger (None):
    the entry is signed here and POSTed (see ``submit_typed``)."""
    url, out = opts.pop("submit_url"), opts.pop("receipt_out")
    if url is not None:
        submit_typed(url, out, opts, entry_type, build, default_log=default_log, author=author)
        return
    if out is not None:
        raise click.UsageError("-o/--out goes with --submit ('lic ledger prove' writes receipts)")
    from ledger.store import Ledger, append_entry  # SQLite here, not for every --db user

    with Ledger.open(opts.pop("db")) as led, replay_progress(False, STATE_READ) as progress:
        if author is None:
            author = open_author(led, opts, default_log)
        payload = {"at": opts.pop("at"), **build(led, author, progress)}
        a = append_entry(led, entry_type, payload, author, progress=progress)
    info = {"index": a.index, "leaf_hash": a.leaf_hash.hex(), "type": entry_type}
    emit(info, as_json=opts["as_json"], text=f"{entry_type}: appended as record {a.index}")


def submit_typed(
    url: str,
    out: Path | None,
    opts: dict[str, Any],
    entry_type: str,
    build: Callable[[Ledger | None, SigningKey, Progress], dict[str, Any]],
    *,
    default_log: bool = False,
    author: SigningKey | None = None,
) -> None:
    """Sign the entry here and POST it to the log at ``url``; print its index, and write its
    receipt to ``out`` when the log sent one (a checkpoint covered it in time)."""
    from ledger.entries import make_entry

    from ._submit import submit_entry

    opts.pop("db")
    if author is None:
        author = open_author(None, opts, default_log)
    payload = {"at": opts.pop("at"), **build(None, author, None)}
    got = submit_entry(url, make_entry(entry_type, payload, author))
    if out is not None and got.receipt is not None:
        write_atomic(out, got.receipt.encode("utf-8"), mode=0o644, overwrite=True)
    wrote = out is not None and got.receipt is not None
    poll = url.rstrip("/") + got.receipt_url
    info = {
        "index": got.index,
        "leaf_hash": got.leaf_hash,
        "type": entry_type,
        "receipt": str(out) if wrote else None,
        "receipt_url": poll,
    }
    later = f"receipt {out}" if wrote else f"receipt at {poll} once a checkpoint covers it"
    text = f"{entry_type}: submitted as record {got.index} ({later})"
    emit(info, as_json=opts["as_json"], text=text)


def token_digest(text: str) -> bytes:
    """A token digest (64 hex digits) or a token file."""
    try:
        raw = bytes.fromhex(text)
        if len(raw) == 32:
            return raw
    except ValueError:
        pass
    path = Path(text)
    if not path.is_file():
        raise MalformedError(f"{text!r} is neither a token digest (64 hex digits) nor a token file")
    return lic.token_digest(read_input(path, MAX_TOKEN_FILE, "token").strip())


def commitment(identifier: str | None, salt_file: Path | None, given: bytes | None) -> bytes:
    """A salted commitment: --commitment as given, or --applicant ID under --salt-file (a new
    random salt is created, mode 0600, when the file is missing)."""
    if given is not None:
        return given
    if identifier is None or salt_file is None:
        raise click.UsageError("give --commitment HEX, or --applicant ID with --salt-file FILE")
    if not salt_file.exists():
        write_atomic(salt_file, os.urandom(32), mode=0o600, overwrite=False)
        click.echo(f"created salt {salt_file}: hand it to the person; keep no copy", err=True)
    return salted_commitment(read_input(salt_file, 1024, "salt"), identifier)


_COMMITMENT_OPTIONS = [
    click.option("--applicant", "identifier", help="The person's identifier (not recorded)."),
    click.option(
        "--salt-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Salt for the commitment (created if missing).",
    ),
    click.option("--commitment", "given", type=DIGEST, help="A ready salted commitment."),
]


def with_commitment(f: Callable[..., Any]) -> Any:
    """Add --applicant, --salt-file and --commitment (see ``commitment``)."""
    for deco in reversed(_COMMITMENT_OPTIONS):
        f = deco(f)
    return f
