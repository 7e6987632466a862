"""``lic ledger report``: the replay writes report.json and index.html from a real ledger, a
file or (``--db postgresql://...``) a PostgreSQL schema holding the same records."""

import hashlib
import json
import shutil
import sqlite3

import psycopg
import pytest

from helpers.backends import BACKENDS, location
from ledger.audit import audit_db
from ledger.entries import decode_record, encode_record
from ledger.store import Ledger

N = 400


@pytest.fixture(scope="module")
def synth_db(synthetic_ledger):
    log_seed = hashlib.sha256(b"report-cli log").digest()
    s = synthetic_ledger(N, seed=7, log_seed=log_seed, origin="example.com/log", jsonl=True)
    assert s.size == N and s.jsonl == s.path.parent / "export.jsonl"
    return s.path


def _export_lines(synth_db):
    return (synth_db.parent / "export.jsonl").read_text().splitlines()


@pytest.fixture(scope="module", params=BACKENDS)
def synth_at(request, synth_db):
    """The synthetic ledger on each backend: its file, or its export imported into a schema."""
    if request.param == "sqlite":
        return synth_db
    url = location(request, "report")
    Ledger.import_jsonl(url, _export_lines(synth_db)).close()
    return url


def test_two_replays_write_byte_identical_report_json(synth_at, synth_db, tmp_path, lic_cli):
    lic_cli.output("ledger", "report", "--db", synth_at, "--out", tmp_path / "a", "--quiet")
    lic_cli.output(
        "ledger", "report", "--db", synth_at, "--out", tmp_path / "b", "--quiet", "--workers", "0"
    )
    a = (tmp_path / "a" / "report.json").read_bytes()
    assert a == (tmp_path / "b" / "report.json").read_bytes()
    html = (tmp_path / "a" / "index.html").read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    # the export replays to the same report as the ledger file
    lic_cli.output(
        "ledger", "report", "--jsonl", synth_db.parent / "export.jsonl", "--out", tmp_path / "c"
    )
    assert (tmp_path / "c" / "report.json").read_bytes() == a


def test_integrity_is_the_audits(synth_at, tmp_path, lic_cli):
    out = json.loads(
        lic_cli.output("ledger", "report", "--db", synth_at, "--out", tmp_path, "--json")
    )
    rep = json.loads((tmp_path / "report.json").read_text())
    audit = audit_db(synth_at, workers=0)
    assert out["records"] == N and out["findings"] == 0
    assert out["headline"] == rep["headline"]
    integ = rep["integrity"]
    assert integ["size"] == N == audit.size and integ["root"] == audit.root.hex()
    assert integ["checkpoint"] == audit.checkpoints[-1].text()
    assert integ["checkpoint"].split("\n")[1] == str(N)
    assert integ["witnesses"] == [] and integ["findings"] == 0
    assert rep["headline"]["requests"] == len(audit.state.requests)
    assert rep["parameters"]["k"] == 5 and rep["parameters"]["records_in_report"] == N


def test_window_and_k_change_the_report(synth_db, tmp_path, lic_cli):
    lic_cli.output("ledger", "report", "--db", synth_db, "--out", tmp_path / "all", "--k", "1")
    full = json.loads((tmp_path / "all" / "report.json").read_text())
    assert full["suppression"]["suppressed_cells"] == 0
    end = 1_767_225_600 + 3000  # 2026-01-01T00:50:00Z; synthesized records start at 00:00
    with Ledger.open(synth_db) as led:
        times = [decode_record(raw).time for _, raw in led.iter_raw()]
    before_end = next(i for i, t in enumerate(times) if t >= end)
    assert 0 < before_end < N
    lic_cli.output(
        "ledger", "report", "--db", synth_db, "--out", tmp_path / "w",
        "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-01T00:50:00Z",
    )  # fmt: skip
    win = json.loads((tmp_path / "w" / "report.json").read_text())
    assert win["parameters"]["from"] == 1_767_225_600
    assert win["parameters"]["to"] == end
    assert win["parameters"]["records_in_report"] == before_end
    assert win["headline"]["requests"] < full["headline"]["requests"]
    assert full["parameters"]["records_in_report"] == N


def _retimed(raw):
    rec = decode_record(bytes(raw))
    return encode_record(rec.index, rec.prev, rec.time + 5, rec.entry_type, rec.entry)


def test_findings_are_reported_and_exit_1(synth_db, ledger_at, tmp_path, lic_cli):
    """Record 5's time changed behind the store's back: in the file's page (sqlite), or in
    the records table's row (postgres)."""
    copy = ledger_at("bad")
    if ledger_at.backend == "sqlite":
        shutil.copy(synth_db, copy)
        conn = sqlite3.connect(copy)
        conn.execute("DROP TRIGGER records_append_only_u")
        raw = conn.execute("SELECT data FROM records WHERE idx = 5").fetchone()[0]
        conn.execute("UPDATE records SET data = ? WHERE idx = 5", (_retimed(raw),))
        conn.commit()
        conn.close()
    else:
        Ledger.import_jsonl(copy, _export_lines(synth_db)).close()
        with psycopg.connect(copy, autocommit=True) as pg:
            pg.execute("DROP TRIGGER records_append_only ON records")
            raw = pg.execute("SELECT data FROM records WHERE idx = 5").fetchone()[0]
            pg.execute("UPDATE records SET data = %s WHERE idx = 5", (_retimed(raw),))
    out = lic_cli.output("ledger", "report", "--db", copy, "--out", tmp_path / "r", code=1)
    assert "findings:" in out
    integ = json.loads((tmp_path / "r" / "report.json").read_text())["integrity"]
    assert integ["findings"] >= 1
    assert integ["findings_listed"][0]["index"] == 5
    assert (tmp_path / "r" / "index.html").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--k", "0"], "--k"),
        (["--from", "2026-02-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z"], "--to"),
        (["--from", "yesterday"], "neither seconds"),
        (["--jsonl", "x.jsonl"], "not both"),
    ],
)
def test_bad_options_exit_2(synth_db, tmp_path, args, message, lic_cli):
    out = lic_cli.output(
        "ledger", "report", "--db", synth_db, "--out", tmp_path / "o", *args, code=2
    )
    assert message in out
    assert not (tmp_path / "o").exists()


def test_missing_ledger_and_missing_out(tmp_path, lic_cli):
    out = lic_cli.output(
        "ledger", "report", "--db", tmp_path / "none.db", "--out", tmp_path / "o", code=2
    )
    assert "no ledger" in out and not (tmp_path / "o").exists()
    assert "--out" in lic_cli.output("ledger", "report", "--db", tmp_path / "none.db", code=2)
