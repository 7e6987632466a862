"""``lic ledger report``: the transparency report (report.json + index.html) from a replay."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ledger.report import replay_report, write_report

from ._output import emit, json_option
from ._params import TIME
from ._replayopts import ReplaySource, replay_options

__all__ = ["report_cmd"]


@click.command("report")
@replay_options
@click.option(
    "--out",
    "-o",
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
@json_option
def report_cmd(
    source: ReplaySource,
    out_dir: Path,
    start: int | None,
    end: int | None,
    k: int,
    as_json: bool,
) -> None:
    """Replay the ledger as the audit does and write report.json and index.html into --out.

    The report is written even when the audit has findings (they are listed in its integrity
    section); the exit code is then 1, as for 'lic ledger audit'. Two replays of the same ledger
    with the same options write byte-identical report.json files.
    """
    if start is not None and end is not None and end <= start:
        raise click.UsageError("--to must be after --from")
    with source.progress() as progress:
        report, result = replay_report(
            db=source.db_path,
            jsonl=source.jsonl,
            k=k,
            start=start,
            end=end,
            progress=progress,
            workers=source.workers,
        )
    write_report(report, out_dir)
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
