"""``lic demo``: the story runs, its claims hold on disk, and the commands it prints are real."""

import json
import re
import shlex
import shutil
import socket
import time

import click
import pytest

from cli import _demo_serve
from cli.main import cli
from helpers.demo import assert_stopped, record_children
from ledger.audit import audit_db
from ledger.bundle import parse_policy, verify_bundle
from ledger.entries import decode_record
from ledger.report import replay_report
from ledger.store import Ledger
from lic import token_digest


@pytest.fixture(scope="module")
def demo(tmp_path_factory, lic_cli):
    d = tmp_path_factory.mktemp("demo") / "run"
    with pytest.MonkeyPatch.context() as mp:
        children = record_children(mp)
        out = lic_cli.output("demo", "--dir", d, "--json")
    assert len(children) == 2  # the log and its auditing witness, both stopped and reaped
    assert_stopped(children)
    return d, json.loads(out)


def printed_commands(info):
    """Every printed 'lic ...' command as argv (without 'lic'), its trailing comment dropped."""
    cmds = []
    for step in info["steps"]:
        for line in step["commands"]:
            argv = shlex.split(line, comments=True)
            if argv and argv[-1] == "&":
                argv = argv[:-1]
            if argv[0] == "lic":
                cmds.append(argv[1:])
    return cmds


def offline(info):
    """``info`` with the steps of the offline story only (before the log goes online)."""
    titles = [s["title"] for s in info["steps"]]
    return {**info, "steps": info["steps"][: titles.index("The log goes online")]}


def test_the_story_is_complete_and_clean(demo):
    d, info = demo
    titles = [s["title"] for s in info["steps"]]
    for expected in (
        "Keys",
        "Terms",
        "Access request approved",
        "Denial and appeal",
        "Academic license",
        "Sublicense",
        "Cosigned checkpoint",
        "Offline bundle",
        "Offline check: permitted",
        "Offline check: prohibited",
        "Incident and revocation",
        "New cosigned checkpoint",
        "Revoked",
        "Audit",
        "Transparency report",
    ):
        assert expected in titles
    assert info["clean"] is True and info["directory"] == str(d)
    assert all(s["said"] for s in info["steps"])
    prohibited = next(s for s in info["steps"] if s["title"] == "Offline check: prohibited")
    assert "DENIED" in prohibited["said"] and "action is prohibited" in prohibited["said"]
    revoked = next(s for s in info["steps"] if s["title"] == "Revoked")
    assert "INVALID (revoked)" in revoked["said"]
    policy = parse_policy((d / "policy.json").read_bytes())
    bundle = (d / "contractor.bundle").read_bytes()
    assert verify_bundle(bundle, policy, now=int(time.time())).effect == "valid"
    now_bundle = (d / "contractor-now.bundle").read_bytes()
    res = verify_bundle(now_bundle, policy, now=int(time.time()))
    assert (res.effect, res.reason) == ("invalid", "revoked")
    with Ledger.open(d / "ledger.db") as led:
        assert led.size == info["records"]
        cp = led.cosigned_checkpoint()
        assert cp is not None and cp.checkpoint.size == led.size
        assert b"\n\xe2\x80\x94 witness.example " in cp.note
        types = [decode_record(raw).entry_type for _, raw in led.iter_raw()]
    for t in ("terms.publish", "access.request", "access.decision", "appeal.file",
              "appeal.decide", "grant", "incident.report", "incident.ack", "revoke"):  # fmt: skip
        assert t in types
    assert types.count("grant") == 2 and types.count("access.decision") == 2
    result = audit_db(d / "ledger.db", workers=0)
    assert result.clean
    rep = json.loads((d / "report" / "report.json").read_text())
    assert rep["integrity"]["size"] == info["records"] and rep["integrity"]["findings"] == 0
    assert rep["integrity"]["witnesses"] == ["witness.example"]
    # totals of 2 and 1 would single people out: suppressed at k=5, counted at k=1
    assert rep["headline"]["requests"] is None and rep["headline"]["incidents"] is None
    everything, _ = replay_report(db=d / "ledger.db", k=1)
    assert everything["headline"]["requests"] == 2 and everything["headline"]["incidents"] == 1
    assert (d / "report" / "index.html").stat().st_size > 1000


def test_every_printed_command_parses(demo):
    """Each printed command names a real command, and its options and arguments parse."""
    _, info = demo
    cmds = printed_commands(info)
    assert len(cmds) >= 30
    for argv in cmds:
        cmd: click.Command = cli
        path = ["lic"]
        while isinstance(cmd, click.Group):
            name, argv = argv[0], argv[1:]
            sub = cmd.get_command(click.Context(cmd), name)
            assert sub is not None, (path, name)
            cmd, path = sub, [*path, name]
        # the parent carries the group's settings (-h), as when lic runs: click caches a
        # command's help option on first use
        with click.Context(cli, info_name="lic", **cli.context_settings) as parent:
            cmd.make_context(" ".join(path), list(argv), parent=parent)


def test_printed_commands_run_against_the_demo_directory(demo, monkeypatch, lic_cli):
    d, info = demo
    monkeypatch.chdir(d)
    monkeypatch.setenv("LIC_HOME", str(d / "keys"))
    by_start = {}
    for argv in printed_commands(offline(info)):
        by_start.setdefault(" ".join(argv[:2]), []).append(argv)
    permitted, prohibited, revoked = by_start["verify --bundle"]
    out = lic_cli.output(*permitted)
    assert out.startswith("PERMIT") and "pass  witnesses" in out
    out = lic_cli.output(*prohibited, code=1)
    assert out.startswith("DENY") and "action is prohibited" in out
    assert lic_cli.output(*revoked, code=1).startswith("INVALID (revoked)")
    (status,) = by_start["ledger status"]
    assert lic_cli.output(*status, code=1).startswith("revoked")
    (audit,) = by_start["ledger audit"]
    assert "findings: 0" in lic_cli.output(*audit, "--quiet")
    (report,) = by_start["ledger report"]
    before = (d / "report" / "report.json").read_bytes()
    lic_cli.output(*report, "--quiet")
    assert (d / "report" / "report.json").read_bytes() == before
    # an append command, typed again: a second approval of the first request
    decide = by_start["ledger decide"][0]
    assert "appended as record" in lic_cli.output(*decide)
    request = by_start["ledger request"][0]
    assert "appended as record" in lic_cli.output(*request)
    # the bundle command, typed again, makes the same bundle from the same checkpoint
    make = by_start["bundle create"][-1]
    lic_cli.output(*[a if a != "contractor-now.bundle" else "again.bundle" for a in make])
    assert (d / "again.bundle").read_bytes() == (d / "contractor-now.bundle").read_bytes()
    export = next(a for a in by_start["keys export"] if "vkey" in a)
    lic_cli.output(*[a if a != "log.vkey" else "log2.vkey" for a in export])
    assert (d / "log2.vkey").read_text() == (d / "log.vkey").read_text()


def test_an_existing_directory_with_files_is_refused(tmp_path, lic_cli):
    (tmp_path / "x").write_text("keep me")
    out = lic_cli.output("demo", "--dir", tmp_path, code=2)
    assert "not empty" in out and (tmp_path / "x").read_text() == "keep me"


def test_text_output_prints_each_step_with_its_commands(tmp_path, lic_cli):
    out = lic_cli.output("demo", "--dir", tmp_path / "t")
    assert out.startswith(f"Working in {tmp_path / 't'}")
    assert "== Offline check: prohibited" in out and "  $ lic verify --bundle " in out
    assert "audit clean" in out.splitlines()[-1]


def test_scale_fills_a_ledger_and_reports_on_it(tmp_path, lic_cli):
    info = json.loads(lic_cli.output("demo", "--dir", tmp_path / "s", "--scale", "300", "--json"))
    assert info["records"] == 300 and info["clean"]
    rep = json.loads((tmp_path / "s" / "report" / "report.json").read_text())
    assert rep["integrity"]["size"] == 300
    assert rep["headline"]["requests"] > 0
    assert lic_cli.output("demo", "--scale", "0", code=2)


def test_the_policy_commands_make_the_demos_policy(demo, tmp_path, monkeypatch, lic_cli):
    """The verifier's steps (lic trust add ..., lic policy create), typed in a fresh directory,
    give the same policy as the demo's policy.json."""
    d, info = demo
    for name in ("issuer.pem", "log.vkey", "witness.pem"):
        shutil.copy(d / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIC_HOME", str(d / "keys"))
    step = next(s for s in info["steps"] if s["title"] == "Offline bundle")
    typed = [shlex.split(line) for line in step["commands"]]
    for argv in typed:
        if argv[:3] == ["lic", "trust", "add"] or argv[:3] == ["lic", "policy", "create"]:
            lic_cli.output(*argv[1:])
    assert any(argv[:3] == ["lic", "policy", "create"] for argv in typed)
    mine = parse_policy((tmp_path / "policy.json").read_bytes()).to_json()
    assert mine == parse_policy((d / "policy.json").read_bytes()).to_json()


def test_the_demo_shows_a_guarded_load(demo, monkeypatch, lic_cli):
    """The model directory bound to a license, the guard permitting the load, and a tampered
    copy refused with its file named; the printed guard commands say the same."""
    d, info = demo
    steps = {s["title"]: s for s in info["steps"]}
    titles = [s["title"] for s in info["steps"]]
    assert titles.index("Offline check: prohibited") < titles.index("Model directory bound")
    assert titles.index("Model directory bound") < titles.index("Guarded load")
    assert titles.index("Guarded load") < titles.index("Guarded load: tampered")
    assert "PERMITTED" in steps["Guarded load"]["said"]
    assert "embed.weight F32 [2, 2]" in steps["Guarded load"]["said"]
    tampered = steps["Guarded load: tampered"]["said"]
    assert "REFUSED" in tampered and "changed: tokenizer.json" in tampered
    monkeypatch.chdir(d)
    monkeypatch.setenv("LIC_HOME", str(d / "keys"))
    guards = [argv for argv in printed_commands(info) if argv[0] == "guard"]
    assert len(guards) == 2
    out = lic_cli.output(*guards[0])
    assert out.startswith("PERMIT") and "pass  model          3 files" in out
    out = lic_cli.output(*guards[1], code=1)
    assert out.startswith("DENY") and "changed: tokenizer.json" in out
    digest = next(a for a in printed_commands(info) if a[:2] == ["model", "digest"])
    saved = json.loads((d / "example-lm-7b.manifest.json").read_text())
    assert json.loads(lic_cli.output(*digest)) == saved


def test_the_served_part_ran(demo, monkeypatch, lic_cli):
    """After the offline story, through a running lic serve: the contractor's grant submitted
    over HTTP is in the served ledger at the index printed, its receipt (cosigned by the
    auditing witness) verifies, the follower's state is there and clean, and the online check
    said DENY while the bundle alone permits."""
    d, info = demo
    titles = [s["title"] for s in info["steps"]]
    served = ["The log goes online", "Submitted over HTTP", "An auditor follows the log",
              "Bundle from the service", "Revoked online"]  # fmt: skip
    assert titles[titles.index("Transparency report") + 1 :] == served
    steps = {s["title"]: s for s in info["steps"]}
    m = re.search(r"grant too \(record (\d+)\)", steps["Submitted over HTTP"]["said"])
    assert m is not None
    index = int(m.group(1))
    m = re.search(r"everything below it \(record (\d+)\)", steps["Revoked online"]["said"])
    assert m is not None
    revoked_at = int(m.group(1))
    with Ledger.open(d / "served.db") as led:  # a copy of ledger.db, 3 records added
        assert led.size == info["records"] + 3 and revoked_at == info["records"] + 2
        rec = led.record(index)
        assert rec.entry_type == "grant"
        assert token_digest((d / "contractor-2.jwt").read_bytes().strip()) in rec.entry
        assert led.record(revoked_at).entry_type == "revoke"
        cp = led.cosigned_checkpoint()
        assert cp is not None and cp.checkpoint.size == led.size
    assert audit_db(d / "served.db", workers=0).clean
    follow = d / "auditor"
    assert (follow / "follow.db").is_file()
    assert not (follow / "evidence").exists() or not any((follow / "evidence").iterdir())
    assert "DENY (offline the bundle gave PERMIT" in steps["Revoked online"]["said"]
    monkeypatch.chdir(d)
    monkeypatch.setenv("LIC_HOME", str(d / "keys"))
    served_cmds = printed_commands({"steps": [steps[t] for t in served]})
    (proof,) = [a for a in served_cmds if a[:2] == ["ledger", "verify-proof"]]
    assert lic_cli(*proof, "--json").json["index"] == index
    assert "\u2014 witness.example " in (d / "contractor-2.proof").read_text()
    offline_check, online_check = [a for a in served_cmds if a[0] == "verify"][-2:]
    assert "--log" not in offline_check and "--log" in online_check
    assert lic_cli.output(*offline_check).startswith("PERMIT")


def test_a_child_that_cannot_start_fails_the_demo_and_stops_the_other(
    tmp_path, monkeypatch, lic_cli
):
    """The log server fails to start (here: its port is taken): the demo exits 1 with one
    line, and the auditing witness started before it is stopped."""
    children = record_children(monkeypatch)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = _demo_serve.log_argv
        monkeypatch.setattr(_demo_serve, "log_argv", lambda _, wport: argv(port, wport))
        res = lic_cli("demo", "--dir", tmp_path / "f", "--quiet", code=1)
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("lic: error: demo: lic serve did not start: "), line
    assert [c.name for c in children] == ["lic witness serve", "lic serve"]
    assert_stopped(children)
