"""LIC_LEDGER_DB names the default ledger; it must not stop `lic ledger audit --jsonl` or
`lic ledger report --jsonl` from replaying an export (an operator with the variable set in
their shell, auditing someone's export, got "give --db or --jsonl, not both"). An explicit
--db together with --jsonl is still refused."""

from keys import SigningKey
from ledger.store import Ledger, synthesize

ORIGIN = "env.example/log"
KEY = SigningKey.from_seed(bytes([3]) * 32)


def _export(tmp_path):
    with Ledger.create(tmp_path / "l.db", ORIGIN, KEY) as led:
        synthesize(led, 20, log_key=KEY)
        led.checkpoint(KEY)
        with open(tmp_path / "l.jsonl", "w") as f:
            led.export_jsonl(f)
    return tmp_path / "l.jsonl"


def test_the_variable_does_not_count_as_a_given_db(tmp_path, lic_cli):
    jsonl = _export(tmp_path)
    env = {"LIC_LEDGER_DB": str(tmp_path / "elsewhere.db")}
    audit = lic_cli("ledger", "audit", "--quiet", "--jsonl", jsonl, "--json", env=env)
    assert audit.json["size"] == 20 and audit.json["clean"] is True
    out = tmp_path / "report"
    lic_cli("ledger", "report", "--quiet", "--jsonl", jsonl, "--out", out, env=env)
    assert (out / "report.json").is_file()
    assert not (tmp_path / "elsewhere.db").exists()


def test_an_explicit_db_with_jsonl_is_still_refused(tmp_path, lic_cli):
    jsonl = _export(tmp_path)
    for cmd in ("audit", "report"):
        args = ["ledger", cmd, "--jsonl", jsonl, "--db", tmp_path / "l.db"]
        if cmd == "report":
            args += ["--out", tmp_path / "r"]
        out = lic_cli(*args, code=2).output
        assert "give --db or --jsonl, not both" in out
