"""Every text output that prints a Merkle root says its encoding (issue 14 item 18): the audit
prints hex (as its JSON does), the consistency proof and a split-view verdict base64 (as the
checkpoint note does), each labelled."""

import base64
import re

import pytest

from ledger.store import Ledger


@pytest.fixture(scope="module")
def demo(demo_dir):
    d = demo_dir("roots")
    with Ledger.open(d / "ledger.db") as led:
        (d / "then.note").write_bytes(led.cosigned_checkpoint(12).note)
        (d / "now.note").write_bytes(led.cosigned_checkpoint().note)
    return d


def note_root(note: bytes) -> str:
    return note.decode().split("\n")[2]


def test_the_audit_labels_its_hex_root(demo, lic_cli):
    run = lic_cli.with_env(LIC_HOME=demo / "keys")
    text = run("ledger", "audit", "--db", demo / "ledger.db").stdout
    root = run("ledger", "audit", "--db", demo / "ledger.db", "--json").json["root"]
    assert f"\nroot (hex): {root}\n" in text
    assert base64.b64encode(bytes.fromhex(root)).decode() == note_root(
        (demo / "now.note").read_bytes()
    )


def test_the_consistency_proof_labels_its_base64_roots(demo, lic_cli):
    run = lic_cli.with_env(LIC_HOME=demo / "keys")
    lines = run("ledger", "consistency", "--from", 12, "--db", demo / "ledger.db").stdout
    first, second = lines.splitlines()[:2]
    assert first == f"from 12 root (base64): {note_root((demo / 'then.note').read_bytes())}"
    assert second == f"to 17 root (base64): {note_root((demo / 'now.note').read_bytes())}"


def test_split_view_labels_its_base64_roots(demo, lic_cli):
    run = lic_cli.with_env(LIC_HOME=demo / "keys")
    out = run("witness", "split-view", demo / "then.note", demo / "now.note", "--log-key",
              demo / "log.vkey", code=3).stdout  # fmt: skip
    roots = re.findall(r"^(first|second): size (\d+) root \(base64\): (\S+)$", out, re.M)
    assert [r[:2] for r in roots] == [("first", "12"), ("second", "17")]
    assert roots[0][2] == note_root((demo / "then.note").read_bytes())
