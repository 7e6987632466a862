"""``lic ledger audit`` says what its comparison of the stored state found (SPEC 14.7), in its
text and as ``stored_state`` in ``--json``: an auditor can tell a file whose tables were checked
from one whose tables were not."""

import functools
import sqlite3

import pytest

from keys import SigningKey
from ledger.store import Ledger, synthesize

LOG = SigningKey.from_seed(bytes([3]) * 32)


@pytest.fixture
def ledger(tmp_path):
    path = tmp_path / "l.db"
    with Ledger.create(path, "stored.example/log", LOG) as led:
        synthesize(led, 60, log_key=LOG)
        led.checkpoint(LOG)
        with open(tmp_path / "l.jsonl", "w") as f:
            led.export_jsonl(f)
    return path


@pytest.fixture
def audit(lic_cli):
    return functools.partial(lic_cli, "ledger", "audit", "--quiet")


def _sql(path, statement):
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.commit()
    conn.close()


def test_each_verdict_is_said_in_text_and_json(ledger, audit):
    assert "stored state: equal to the replay\n" in audit("--db", ledger).output
    assert audit("--db", ledger, "--json").json["stored_state"] == "equal"
    export = ledger.with_suffix(".jsonl")
    assert "stored state: none to compare (an export" in audit("--jsonl", export).output
    assert audit("--jsonl", export, "--json").json["stored_state"] == "absent"
    _sql(ledger, "UPDATE st_meta SET last_time = last_time + 1")
    out = audit("--db", ledger, code=1).output
    assert "stored state: differs from the replay (see the findings)" in out
    assert "stored state: table st_meta differs from the replay" in out
    assert audit("--db", ledger, "--json", code=1).json["stored_state"] == "differs"
    _sql(ledger, "UPDATE st_meta SET schema = schema + 1")  # rebuilt by the next write
    assert "stored state: not compared (tables of another schema" in audit("--db", ledger).output
