"""The report page reads well (issue 14, item 14): chart titles are HTML, not SVG text a narrow
drawing clips; codes appear as labels; each chart explains its marks; the integrity section
says how to check the root; at scale the page shows recent months and a bounded list of
incident summaries while report.json keeps everything. The ledger is replayed on each backend
(a SQLite file, a PostgreSQL schema)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from helpers.backends import BACKENDS, location
from keys import SigningKey
from ledger.report import render_html, replay_report
from ledger.store import Ledger, synthesize


@pytest.fixture(scope="module", params=BACKENDS)
def report(request) -> dict[str, Any]:
    db = location(request, "page")
    log = SigningKey.from_seed(bytes(32))
    with Ledger.create(db, "page.example/log", log) as led:
        synthesize(led, 3000, log_key=log, seed=5)
        led.checkpoint(log)
    rep, _ = replay_report(db=db)
    return rep


def test_charts_are_titled_outside_the_drawing_and_explained(report):
    page = render_html(report)
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) >= 6
    for svg in svgs:
        texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
        assert all(len(t) <= 12 for t in texts), texts  # axis values and short labels only
    assert page.count('<figcaption class="chart-title">') == len(svgs)
    assert page.count("Blue bars: counts") == len(svgs)
    assert "Green line and dots: the rate" in page


def test_codes_appear_as_labels(report):
    page = render_html(report)
    text = re.sub(r"<[^>]+>", " ", page)
    for code in ("lt_7d", "ge_90d", "no_action_needed", "not_yet_valid", "lt_1h", "7d_30d"):
        assert code not in text, code
    assert "under 7 days" in text and "no action needed" in text and "not yet valid" in text


def test_the_integrity_section_says_how_to_check_the_root(report):
    page = render_html(report)
    assert "lic ledger audit --db ledger.db" in page
    assert "must equal the one above" in page and "base64" in page


def test_at_scale_the_page_shows_recent_months_and_some_summaries(report):
    big = copy.deepcopy(report)
    row = big["monthly"][0]
    big["monthly"] = [{**row, "month": f"{2000 + i // 12}-{i % 12 + 1:02d}"} for i in range(300)]
    one = report["incidents"]["summaries"][0]
    big["incidents"]["summaries"] = [{**one, "incident": i} for i in range(1000)]
    page = render_html(big)
    assert "The 24 most recent of 300 months" in page
    assert "2024-12" in page and "2000-01" not in page
    assert page.count('<div class="summary">') == 50
    assert "The 50 most recently closed of 1000 incidents" in page


def test_unprotectable_lines_are_named_on_the_page(report):
    rep = copy.deepcopy(report)
    rep["suppression"]["unprotectable_lines"] = ["withdrawals.suspended.entries.total"]
    page = render_html(rep)
    assert 'id="unprotectable-lines"' in page
    assert "withdrawals.suspended.entries.total" in page
    assert 'id="unprotectable-lines"' not in render_html(
        {**report, "suppression": {**report["suppression"], "unprotectable_lines": []}}
    )
