"""The typed-entry commands and the auditor from the shell (the lic_cli runner, real files),
on a ledger file and on a PostgreSQL ledger."""

import base64
import hashlib
import json

import pytest

from keys import Keyring

EXAMPLE = "examples/academic-research.toml"


@pytest.fixture
def sh(tmp_path, monkeypatch, lic_cli, ledger_at):
    """The shell, with $LIC_LEDGER_DB naming the ledger: a file, then a PostgreSQL URL (the
    typed commands, status and audit run on both backends)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIC_HOME", str(tmp_path / "keys"))
    monkeypatch.setenv("LIC_LEDGER_DB", str(ledger_at("cli")))
    return lic_cli.output


@pytest.fixture
def world(sh, tmp_path, request):
    root = request.config.rootpath
    for name in ("log", "issuer", "responder", "reviewer", "attester", "holder", "contractor"):
        sh("keys", "new", name)
    sh("ledger", "init", "--origin", "example.com/log", "--key", "log")
    for name, role in (
        ("issuer", "issuer"),
        ("responder", "responder"),
        ("reviewer", "reviewer"),
        ("attester", "attester"),
    ):
        (tmp_path / f"{name}.pem").write_text(sh("keys", "export", name, "--format", "pem"))
        sh("ledger", "key", "add", f"{name}.pem", "--role", role, "--name", name)
    for name in ("holder", "contractor"):
        (tmp_path / f"{name}.jwk").write_text(sh("keys", "export", name, "--format", "jwk"))
    lic_text = (root / EXAMPLE).read_text()
    (tmp_path / "root.toml").write_text(lic_text)
    narrow = lic_text.replace("allowed = true", "allowed = false").replace(
        "max_depth = 1", "max_depth = 0"
    )
    (tmp_path / "child.toml").write_text(narrow)
    sh("token", "issue", "--key", "issuer", "--holder", "holder.jwk", "--license", "root.toml",
        "-o", "root.jwt")  # fmt: skip
    sh("token", "delegate", "--parent", "root.jwt", "--key", "holder", "--holder",
        "contractor.jwk", "--license", "child.toml", "-o", "child.jwt")  # fmt: skip
    return tmp_path


def no_db(sh):
    """``sh`` without $LIC_LEDGER_DB: 'lic ledger audit --jsonl' refuses a --db beside it, and
    click reads the variable as --db."""
    runner = sh.__self__

    def run(*args, code=0):
        return runner(*args, code=code, catch_exceptions=False, env={"LIC_LEDGER_DB": ""}).output

    return run


def idx(out):
    return int(out.rsplit(" ", 1)[1])


def test_every_entry_type_from_the_shell_and_a_clean_audit(sh, world):
    (world / "terms.txt").write_text("The terms.")
    sh("ledger", "terms", "publish", "--id", "acme", "--version", "1.0", "--text", "terms.txt",
        "--effective", "2026-01-01T00:00:00Z", "--key", "issuer")  # fmt: skip
    req = idx(sh("ledger", "request", "--applicant", "alice@example.org", "--salt-file",
        "alice.salt", "--tier", "academic", "--purpose", "research", "--region", "DE", "--key",
        "issuer"))  # fmt: skip
    assert len((world / "alice.salt").read_bytes()) == 32
    dec = idx(sh("ledger", "decide", "--request", req, "--decision", "denied", "--reason",
        "missing_affiliation", "--key", "issuer"))  # fmt: skip
    app = idx(
        sh("ledger", "appeal", "file", "--target", dec, "--grounds", "We are a lab.", "--anonymous")
    )
    sh("ledger", "appeal", "decide", "--appeal", app, "--outcome", "overturned", "--rationale",
        "Shown.", "--key", "reviewer")  # fmt: skip
    sh("ledger", "grant", "root.jwt", "--key", "issuer", "--salt-file", "alice.salt",
        "--request", req)  # fmt: skip
    sh("ledger", "grant", "child.jwt", "--key", "holder", "--commitment", "cd" * 32)
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "acme-7b", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"x": 1},
    }
    (world / "stmt.json").write_text(json.dumps(stmt))
    sh("ledger", "attest", "--statement", "stmt.json", "--consent-basis", "licensed",
        "--no-sensitive", "--key", "attester")  # fmt: skip
    (world / "pred.json").write_text('{"name": "corpus", "documentNamespace": "x"}')
    sh("ledger", "attest", "--subject", "data=" + "cd" * 32, "--predicate-type",
        "https://spdx.dev/Document", "--predicate", "pred.json", "--key", "attester")  # fmt: skip
    inc = idx(sh("ledger", "incident", "report", "--harm", "privacy", "--severity", "high",
        "--jurisdiction", "DE", "--token", "child.jwt", "--description", "Seen.",
        "--anonymous"))  # fmt: skip
    sh("ledger", "incident", "ack", inc, "--key", "responder")
    sh("ledger", "incident", "update", inc, "--note", "Confirmed.", "--severity", "critical",
        "--key", "responder")  # fmt: skip
    sh("ledger", "incident", "respond", inc, "--action", "Suspended.", "--key", "responder")
    sh("ledger", "suspend", "--token", "child.jwt", "--reason", "prohibited_use", "--key", "issuer")
    sh("ledger", "reinstate", "--token", "child.jwt", "--key", "issuer")
    rev = idx(sh("ledger", "revoke", "--token", "root.jwt", "--reason", "prohibited_use",
        "--incident", inc, "--key", "issuer"))  # fmt: skip
    sh("ledger", "incident", "remediate", inc, "--action", "Revoked.", "--revocations", rev,
        "--key", "responder")  # fmt: skip
    sh("ledger", "incident", "close", inc, "--outcome", "remediated", "--summary", "Done.",
        "--key", "responder")  # fmt: skip
    (world / "att.pem").write_text(sh("keys", "export", "attester", "--format", "pem"))
    sh("ledger", "key", "retire", "att.pem")
    sh("ledger", "key", "compromised", "att.pem", "--since", "now")
    sh("ledger", "checkpoint")

    out = sh("ledger", "status", "child.jwt", "--json", code=1)
    st = json.loads(out)
    assert st["status"] == "revoked" and st["evidence"] == [rev]
    assert st["via"] == hashlib.sha256((world / "root.jwt").read_bytes().strip()).hexdigest()
    report = json.loads(sh("ledger", "audit", "--json", "--quiet"))
    assert report["clean"] and report["licenses"] == {
        "active": 0, "not_yet_valid": 0, "expired": 0, "suspended": 0, "revoked": 2,
    }  # fmt: skip
    assert report["open_incidents"] == [] and report["terms_in_force"] == {"acme": "1.0"}
    text = sh("ledger", "audit", "--quiet", "--workers", "0")
    assert "findings: 0" in text and "2 revoked" in text
    sh("ledger", "export", "--jsonl", "out.jsonl")
    assert json.loads(no_db(sh)("ledger", "audit", "--jsonl", "out.jsonl", "--json"))["clean"]


def test_refusals_have_reasons_and_exit_codes(sh, world):
    sh("ledger", "grant", "root.jwt", "--key", "issuer", "--commitment", "ab" * 32)
    out = sh(
        "ledger", "grant", "child.jwt", "--key", "responder", "--commitment", "ab" * 32, code=1
    )
    assert "not the expected signer" in out
    out = sh("ledger", "incident", "close", "42", "--outcome", "remediated", "--summary", "s",
        "--key", "responder", code=1)  # fmt: skip
    assert "does not name an incident report" in out
    out = sh("ledger", "terms", "publish", "--id", "x", "--version", "1", "--text", "root.toml",
        "--effective", "now", "--key", "responder", code=1)  # fmt: skip
    assert "has role 'responder'" in out
    out = sh("ledger", "revoke", "--token", "0" * 64, "--reason", "legal_order", "--key",
        "issuer", code=1)  # fmt: skip
    assert "never granted" in out
    sh("ledger", "revoke", "--token", "root.jwt", "--reason", "nope", "--key", "issuer", code=2)
    out = sh("ledger", "status", "nothing-here", code=2)
    assert "neither a token digest" in out
    out = sh("ledger", "request", "--tier", "academic", "--purpose", "r", "--region", "DE",
        "--key", "issuer", code=2)  # fmt: skip
    assert "--commitment" in out
    out = sh("ledger", "key", "add", "root.toml", "--role", "issuer", "--name", "x", code=2)
    assert "Traceback" not in out


def test_audit_reports_tampering_with_exit_1(sh, world):
    sh("ledger", "grant", "root.jwt", "--key", "issuer", "--commitment", "ab" * 32)
    sh("ledger", "checkpoint")
    sh("ledger", "export", "--jsonl", "out.jsonl")
    lines = (world / "out.jsonl").read_text().splitlines()
    doc = json.loads(lines[2])
    raw = bytearray(base64.b64decode(doc["record"]))
    raw[-3] ^= 1
    doc["record"] = base64.b64encode(bytes(raw)).decode()
    lines[2] = json.dumps(doc)
    (world / "bad.jsonl").write_text("\n".join(lines) + "\n")
    out = no_db(sh)("ledger", "audit", "--jsonl", "bad.jsonl", "--json", "--workers", "0", code=1)
    findings = json.loads(out)["findings"]
    assert findings and findings[0]["index"] == 1


def test_audit_progress_is_quiet_off_a_terminal(sh, world):
    out = sh("ledger", "audit")
    assert "replayed" not in out and "findings: 0" in out


def test_keyring_is_untouched_by_the_audit(sh, world):
    before = sorted(Keyring(world / "keys").names())
    sh("ledger", "audit", "--quiet")
    assert sorted(Keyring(world / "keys").names()) == before


@pytest.fixture
def counted(monkeypatch):
    """How often the CLI opened a ledger and replayed it from its first record."""
    from ledger.store import Ledger

    seen = {"open": 0, "replay": 0}
    open_ledger, iter_records = Ledger.open.__func__, Ledger.iter_records

    def counting_open(cls, path):
        seen["open"] += 1
        return open_ledger(cls, path)

    def counting_iter(self, start=0, end=None):
        seen["replay"] += start == 0 and self.size > 0
        return iter_records(self, start, end)

    monkeypatch.setattr(Ledger, "open", classmethod(counting_open))
    monkeypatch.setattr(Ledger, "iter_records", counting_iter)
    return seen


def test_grant_and_attest_open_the_ledger_once_and_replay_nothing(sh, world, counted):
    counted.update(open=0, replay=0)
    out = sh("ledger", "grant", "root.jwt", "--key", "issuer", "--commitment", "ab" * 32)
    assert out.startswith("grant: appended as record")
    assert counted == {"open": 1, "replay": 0}  # the typed append reads the stored state
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "acme-7b", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"x": 1},
    }
    (world / "stmt.json").write_text(json.dumps(stmt))
    counted.update(open=0, replay=0)
    out = sh("ledger", "attest", "--statement", "stmt.json", "--key", "attester", "--json")
    assert json.loads(out)["type"] == "attest"
    assert counted == {"open": 1, "replay": 0}
    assert "active" in sh("ledger", "status", "root.jwt")
    assert "findings: 0" in sh("ledger", "audit", "--quiet", "--workers", "0")
