"""ledger.report: the transparency report.

Figures computed with SQL over the state tables a replay fills and the report's own tables
(``ReportBuilder``), disclosure control of small counts, the self-contained HTML page, and the
report's I/O (``replay_report``, ``write_report``).
"""

from ._disclosure import (
    Disclosure,
)
from ._figures import (
    ReportBuilder,
)
from ._io import (
    replay_report,
    write_report,
)
from ._measures import (
    REPORT_FORMAT,
    report_json_bytes,
)
from ._page import (
    render_html,
)

__all__ = [
    "REPORT_FORMAT",
    "Disclosure",
    "ReportBuilder",
    "render_html",
    "replay_report",
    "report_json_bytes",
    "write_report",
]
