"""``lic ledger report``: the transparency report (report.json + index.html) from a replay."""

from __future__ import annotations

import sys
from pathlib import Path

import click

import ledger as lg

from ._output import emit, json_option
from .ledger_cmd import ledger_group
from .ledger_entries_cmd import TIME, _progress_bar

__all__: list[str] = []


@ledger_group.command("report")
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="LIC_LEDGER_DB",
    help="Ledger file (SQLite; default ledger.db).",
)
@click.option(
    "--jsonl",
    type=click.Path(dir_okay=False, path_type=Path),
    help="An export written by 'lic ledger export' instead of a ledger file.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for report.json and index.html (created if missing).",
)
@click.option("--from", "start", type=TIME, help="Start of the report window (inclusive).")
@click.option("--to", "end", type=TIME, help="End of the report window (exclusive).")
@click.option(
    "--k",
    "k",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Small-cell threshold: counts below it are suppressed.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--workers", type=click.IntRange(min=0), help="Signature workers (default: CPUs).")
@json_option
def report_cmd(
    db: Path | None,
    jsonl: Path | None,
    out_dir: Path,
    start: int | None,
    end: int | None,
    k: int,
    quiet: bool,
    workers: int | None,
    as_json: bool,
) -> None:
    """Replay the ledger as the audit does and write report.json and index.html into --out.

    The report is written even when the audit has findings (they are listed in its integrity
    section); the exit code is then 1, as for 'lic ledger audit'. Two replays of the same ledger
    with the same options write byte-identical report.json files.
    """
    if db is not None and jsonl is not None:
        raise click.UsageError("give --db or --jsonl, not both")
    if start is not None and end is not None and end <= start:
        raise click.UsageError("--to must be after --from")
    show = not quiet and sys.stderr.isatty()
    report, result = lg.replay_report(
        db=None if jsonl is not None else (db or Path("ledger.db")),
        jsonl=jsonl,
        k=k,
        start=start,
        end=end,
        progress=_progress_bar() if show else None,
        workers=workers,
    )
    if show:
        click.echo("", err=True)
    lg.write_report(report, out_dir)
    h = report["headline"]
    info = {
        "out": str(out_dir),
        "files": [str(out_dir / "report.json"), str(out_dir / "index.html")],
        "records": result.size,
        "findings": len(result.findings),
        "headline": h,
    }
    text = "\n".join(
        [
            f"wrote {out_dir / 'report.json'} and {out_dir / 'index.html'}",
            f"records: {result.size}, findings: {len(result.findings)}",
            *(f"  {f}" for f in result.findings[:20]),
        ]
    )
    emit(info, as_json=as_json, text=text)
    if result.findings:
        sys.exit(1)
