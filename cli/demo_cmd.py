"""``lic demo``: the end-to-end story on a fresh local ledger, each step with its command."""

from __future__ import annotations

import sys
import tempfile
import textwrap
from pathlib import Path

import click

from ._output import emit, json_option
from .demo import DemoStep, run_demo, scale_demo

__all__ = ["demo_cmd"]


def _show(step: DemoStep) -> None:
    click.echo(click.style(f"== {step.title}", bold=True))
    click.echo(textwrap.fill(step.said, width=96))
    for cmd in step.commands:
        click.echo(f"  $ {cmd}")
    click.echo("")


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="A new or empty directory to work in (default: a new temporary directory).",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1, max=10_000_000),
    help="Instead of the story, fill a ledger with N synthetic records and report on it.",
)
@click.option("--quiet", is_flag=True, help="Print only the summary.")
@json_option
def demo_cmd(directory: Path | None, scale: int | None, quiet: bool, as_json: bool) -> None:
    """Run the whole licensing story on a fresh local ledger and explain each step.

    Creates keys, publishes terms, records an access request, its approval, a denial and an
    appeal; issues an academic license and a sublicense; has a witness cosign a checkpoint;
    verifies the contractor's bundle offline for a permitted use and refuses a prohibited one;
    records an incident and the revocation it leads to, after which the bundle fails as
    revoked; audits the ledger and writes the transparency report. Then it runs 'lic serve'
    and an auditing witness ('lic witness serve --follow') on loopback, on copies of the
    ledger and witness state: grants submitted over HTTP with a cosigned receipt, an auditor
    following the log, and a revocation submitted there that 'lic verify --log' turns into
    DENY while the offline bundle still permits. Each step prints the 'lic' commands that do
    it by hand. With --scale N, synthesizes N records instead.
    """
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="lic-demo-"))
    if not quiet and not as_json:
        click.echo(f"Working in {directory}\n")
    show = None if quiet or as_json else _show
    if scale is not None:
        progress = None
        if show is not None and sys.stderr.isatty():

            def progress(n: int) -> None:
                click.echo(f"\rsynthesized {n:,} records", err=True, nl=False)

        result = scale_demo(directory, scale, progress=progress, on_step=show)
    else:
        result = run_demo(directory, on_step=show)
    info = {
        "directory": str(result.directory),
        "records": result.records,
        "clean": result.clean,
        "report": str(result.report_dir),
        "seconds": round(result.seconds, 2),
        "steps": [
            {"title": s.title, "said": s.said, "commands": list(s.commands)} for s in result.steps
        ],
    }
    text = (
        f"Done in {result.seconds:.1f} s: {result.records} records, audit clean. "
        f"Open {result.report_dir}/index.html in a browser."
    )
    emit(info, as_json=as_json, text=text)
