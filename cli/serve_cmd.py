"""``lic serve``: the ledger over HTTP (SPEC 16): the read API (C2SP tlog-tiles), receipts and
token status, and with ``--log-key`` submissions (``POST /entries``) with checkpoints on a
schedule."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ._keyopts import keyring_option, load_signing_key, passphrase_options
from ._ledgeropts import db_option
from ._params import read_vkey

__all__ = ["parse_listen", "serve_cmd"]


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port); BadParameter otherwise."""
    host, sep, port_s = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not (port_s.isascii() and port_s.isdigit()) or len(port_s) > 5:
        raise click.BadParameter(f"{value!r} is not HOST:PORT", param_hint="'--listen'")
    port = int(port_s)
    if port > 65535:
        raise click.BadParameter(f"port {port} out of range", param_hint="'--listen'")
    return host, port


@click.command("serve")
@db_option
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    metavar="HOST:PORT",
    help="Loopback address and port to listen on (port 0: any free port).",
)
@click.option(
    "--log-key",
    "log_key_name",
    metavar="LOGKEY",
    help="Take submissions (POST /entries) and sign checkpoints with this key of the keyring "
    "(without it the server is read-only).",
)
@click.option(
    "--checkpoint-interval",
    type=click.FloatRange(0.01, 86400),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="With --log-key: sign a checkpoint this often when the log grew.",
)
@click.option(
    "--witness",
    "witness_urls",
    multiple=True,
    metavar="URL",
    help="With --log-key: a witness to ask to cosign each checkpoint (repeatable).",
)
@click.option(
    "--witness-key",
    "witness_keys",
    multiple=True,
    metavar="VKEY",
    help="Trusted witness verifier key, inline or a file (repeatable).",
)
@click.option(
    "--quorum",
    type=click.IntRange(min=1),
    help="Cosignatures wanted from distinct witnesses (default: every --witness-key); fewer "
    "is reported on standard error.",
)
@keyring_option
@passphrase_options
def serve_cmd(
    db: Path,
    listen: str,
    log_key_name: str | None,
    checkpoint_interval: float,
    witness_urls: tuple[str, ...],
    witness_keys: tuple[str, ...],
    quorum: int | None,
    keyring_dir: Path | None,
    passphrase_file: Path | None,
    passphrase_env: str | None,
) -> None:
    """Serve the ledger over HTTP: tiles, receipts, token status and, with --log-key, entries.

    Serves GET /checkpoint (the latest checkpoint with its stored cosignatures),
    /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>] and /blob/<sha256> (records over 65,535
    bytes), all at the latest checkpoint's size, GET /entries/<N>/receipt and
    GET /status/<token digest> (the status with its offline-checkable evidence). With
    --log-key it takes POST /entries (author-signed entries, committed in groups), signs a
    checkpoint every --checkpoint-interval seconds when the log grew and asks each --witness
    to cosign it. Prints 'listening on http://HOST:PORT' once bound. Non-loopback addresses
    are refused: put a reverse proxy in front to expose it. SIGINT or SIGTERM stops it after
    the requests in flight.
    """
    from ledger.serve import LogServer, WriteOptions
    from ledger.tlog import CosignatureV1Verifier

    host, port = parse_listen(listen)
    if (witness_urls or witness_keys or quorum) and log_key_name is None:
        raise click.UsageError("--witness, --witness-key and --quorum need --log-key")
    if bool(witness_urls) != bool(witness_keys):
        raise click.UsageError("--witness and --witness-key go together")
    write = None
    if log_key_name is not None:
        key = load_signing_key(keyring_dir, log_key_name, passphrase_file, passphrase_env)
        verifiers = tuple(
            CosignatureV1Verifier.from_vkey(read_vkey(v, "key")) for v in witness_keys
        )
        if quorum is not None and quorum > len(verifiers):
            raise click.UsageError("--quorum is more than the --witness-key given")
        write = WriteOptions(
            key,
            checkpoint_interval=checkpoint_interval,
            witness_urls=witness_urls,
            witness_keys=verifiers,
            quorum=quorum,
        )
    server = LogServer(db, host, port, write=write)
    click.echo(f"listening on {server.url}" + ("" if write is None else " (taking entries)"))
    sys.stdout.flush()
    server.run()
