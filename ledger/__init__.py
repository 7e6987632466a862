"""ledger: the append-only, hash-chained Merkle ledger (built by the ledger issues)."""

from ._report import ReportBuilder, report_json_bytes
from ._report_html import render_html
from .report_io import write_report

__all__: list[str] = ["ReportBuilder", "render_html", "report_json_bytes", "write_report"]
