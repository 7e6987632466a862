"""``lic ledger tiles``: write the ledger's read resources as static files (SPEC 16)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ledger.store import open_read_only, write_tiles

from ._ledgeropts import db_option
from ._output import emit, json_option

__all__ = ["tiles_cmd"]


@click.command("tiles")
@db_option
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write (created if missing); serve it as the log's URL prefix.",
)
@json_option
def tiles_cmd(db: Path, out: Path, as_json: bool) -> None:
    """Write the checkpoint, tiles, entry bundles and blobs as static files (C2SP tlog-tiles).

    Writes what a static web server or object store needs to serve the log exactly as 'lic
    serve' does, at the latest checkpoint's size with its stored cosignatures. Incremental:
    a second run writes only the new full tiles, the new partial ones and the checkpoint
    (last); full tiles are never rewritten, and each file is written atomically.
    """
    show = sys.stderr.isatty() and not as_json

    def progress(done: int, total: int) -> None:
        click.echo(f"\rwrote {done:,} of {total:,} tiles and bundles", err=True, nl=False)

    with open_read_only(db) as led:
        r = write_tiles(led, out, progress=progress if show else None)
    if show and (r.size != r.previous_size):
        click.echo("", err=True)
    new = r.tiles + r.partial_tiles + r.entry_bundles + r.blobs
    text = (
        f"size {r.size} (was {r.previous_size}): wrote {r.tiles} tiles, {r.partial_tiles} "
        f"partial tiles, {r.entry_bundles} entry bundles, {r.blobs} blobs"
        + ("" if new else " (nothing new)")
        + ("; checkpoint updated" if r.checkpoint_written else "; checkpoint unchanged")
    )
    emit({"out": str(out), **r.as_dict()}, as_json=as_json, text=text)
