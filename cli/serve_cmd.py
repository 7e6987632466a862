"""``lic serve``: the ledger's read API over HTTP (C2SP tlog-tiles, SPEC 16)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ._ledgeropts import db_option

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
def serve_cmd(db: Path, listen: str) -> None:
    """Serve the ledger's read API over HTTP: checkpoint, tiles, entry bundles (C2SP tlog-tiles).

    Serves GET /checkpoint (the latest checkpoint with its stored cosignatures),
    /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>] and /blob/<sha256> (records over 65,535
    bytes), all at the latest checkpoint's size, reading the ledger read-only while other
    commands append. Prints 'listening on http://HOST:PORT' once bound. Non-loopback
    addresses are refused: put a reverse proxy in front to expose it. SIGINT or SIGTERM
    stops it after the requests in flight.
    """
    from ledger.serve import LogServer

    host, port = parse_listen(listen)
    server = LogServer(db, host, port)
    click.echo(f"listening on {server.url}")
    sys.stdout.flush()
    server.run()
