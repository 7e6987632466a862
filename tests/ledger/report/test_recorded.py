"""The report's bytes on synthetic ledgers equal those recorded from the implementation on main
before the report read the state tables with SQL (report.json and index.html, by SHA-256):
generated event mixes of several seeds and sizes through ``ReportBuilder`` (with and without
a window and a cutoff), and synthesized ledgers through ``replay_report`` (the audit's replay)
on both backends: a SQLite file and a PostgreSQL schema give the recorded bytes."""

import hashlib
import json
from pathlib import Path

import pytest

from ledger.report import ReportBuilder, render_html, replay_report, report_json_bytes
from tests.ledger.report.recorded_ledgers import CASES, SYNTH_CASES, replay_case, synth_report

RECORDED = json.loads((Path(__file__).parent / "data" / "recorded_reports.json").read_text())


def _digests(report):
    return {
        "report_json_sha256": hashlib.sha256(report_json_bytes(report)).hexdigest(),
        "index_html_sha256": hashlib.sha256(render_html(report).encode("utf-8")).hexdigest(),
    }


def test_every_case_was_recorded():
    assert set(RECORDED["cases"]) == set(CASES) | set(SYNTH_CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_ledger_report_is_byte_identical(name):
    replay = replay_case(name, ReportBuilder)
    recorded = RECORDED["cases"][name]
    assert replay.index == recorded["records"]
    report = replay.finish()
    assert _digests(report) == {k: v for k, v in recorded.items() if k != "records"}
    assert _digests(replay.finish()) == _digests(report)  # finish() again: the same bytes


@pytest.mark.parametrize("name", sorted(SYNTH_CASES))
def test_ledger_file_report_is_byte_identical(name, ledger_at):
    report = synth_report(name, ledger_at(name.replace("-", "_")), replay_report)
    recorded = RECORDED["cases"][name]
    assert report["integrity"]["size"] == recorded["records"]
    assert _digests(report) == {k: v for k, v in recorded.items() if k != "records"}
