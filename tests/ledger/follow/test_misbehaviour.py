"""A follower fed a forked log (a second ledger under the same key at the same URL) or a lying
one (a checkpoint whose lic-revoked/v1 line is not the records' set, signed with the log key)
exits 1 with the evidence on stdout and in its state directory, and does not advance."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from helpers import bundle_scenario as bs
from helpers.log_proxy import lic_serve
from ledger.entries import decode_record, encode_record
from ledger.follow import STATE_FILE
from ledger.tlog import (
    EMPTY_ROOT,
    ENTRIES_LEVEL,
    Checkpoint,
    Ed25519NoteSigner,
    Tile,
    format_entry_bundle,
    format_revset_extension,
    sign_checkpoint,
)

LOG_VKEY = bs.LOG.public_key.verifier_key(bs.ORIGIN)


def _follow(lic_cli, url: str, state: Path, code: int = 0):
    return lic_cli("ledger", "follow", url, "--state", state, "--log-key", LOG_VKEY, "--json",
                   code=code)  # fmt: skip


def _size(state: Path) -> int:
    with sqlite3.connect(state / STATE_FILE) as conn:
        return int(conn.execute("SELECT size FROM fl_meta").fetchone()[0])


def _lie(size: int, root: bytes, members: int = 0, revset_root: bytes = EMPTY_ROOT) -> bytes:
    """A checkpoint of the real tree, signed with the log key, stating a revoked set of its
    own (by default: none)."""
    line = format_revset_extension(members, revset_root)
    cp = Checkpoint(bs.ORIGIN, size, root, (line,))
    return sign_checkpoint(cp, Ed25519NoteSigner(bs.ORIGIN, bs.LOG)).note


def _other_history(path: Path, extra_keys: int) -> bs.Scenario:
    """The same log key and origin, another history: two links, one revoked, more keys."""
    other = bs.build(path, links=2)
    other.revoke(other.tokens[1])
    for i in range(extra_keys):
        key = bs.key(f"fork key {i}").public_key.raw
        other.append("key.add", {"key": key, "role": "attester", "name": f"a{i}"}, bs.LOG)
    other.checkpoint(bs.T0 + 150)
    return other


@pytest.mark.parametrize("extra, kind_of_fork", [(0, "different roots"), (3, "does not extend")])
def test_a_forked_log_is_caught_with_both_notes(served, lic_cli, tmp_path, extra, kind_of_fork):
    state = tmp_path / "f"
    first = _follow(lic_cli, served.url, state).json
    assert first["size"] == 4
    other = _other_history(tmp_path / "other.db", extra)
    try:
        assert other.led.size == 4 + extra and other.led.root(4) != served.s.led.root(4)
        with lic_serve(other.path) as other_url:
            served.proxy.upstream = other_url  # the same URL now serves the other history
            res = _follow(lic_cli, served.url, state, code=1)
            again = lic_cli("ledger", "follow", served.url, "--state", state, code=1)
        other_note = other.led.cosigned_checkpoint().note.decode()
    finally:
        other.led.close()
    out = res.json
    assert out["status"] == "misbehaving" and out["size"] == 4 + extra
    (ev,) = out["evidence"]
    assert ev["kind"] == "fork" and kind_of_fork in ev["message"]
    ours = served.s.led.cosigned_checkpoint().note.decode()
    assert ev["notes"] == [ours, other_note]  # both signed notes: anyone can check them
    (path,) = out["evidence_files"]
    assert json.loads(Path(path).read_text())["notes"] == [ours, other_note]
    assert _size(state) == 4  # not advanced
    assert "MISBEHAVIOUR" in again.stdout and "evidence (fork)" in again.stdout


def test_a_lying_revoked_set_line_is_caught(served, lic_cli, tmp_path):
    state = tmp_path / "f"
    _follow(lic_cli, served.url, state)
    served.s.revoke(served.s.tokens[1])
    size = served.s.checkpoint(bs.T0 + 200)  # the honest note says one member
    served.proxy.checkpoint = _lie(size, served.s.led.root(size))
    out = _follow(lic_cli, served.url, state, code=1).json
    (ev,) = out["evidence"]
    assert ev["kind"] == "revoked-set" and "false lic-revoked/v1 line" in ev["message"]
    assert "says 0 member(s)" in ev["message"] and "give 1" in ev["message"]
    assert ev["notes"] == [served.proxy.checkpoint.decode()]
    assert _size(state) == 4
    served.proxy.checkpoint = None  # the honest note verifies and advances
    assert _follow(lic_cli, served.url, state).json["size"] == size
    # a size verified before, now served with another line: the two notes prove it
    served.proxy.checkpoint = _lie(size, served.s.led.root(size))
    out = _follow(lic_cli, served.url, state, code=1).json
    (ev,) = out["evidence"]
    assert ev["kind"] == "revoked-set" and len(ev["notes"]) == 2
    text = lic_cli("ledger", "follow", served.url, "--state", state, code=1).stdout
    assert "lic-revoked/v1" in text and "evidence (revoked-set)" in text


def test_a_checkpoint_not_signed_by_the_pinned_key_is_refused(served, lic_cli, tmp_path):
    state = tmp_path / "f"
    _follow(lic_cli, served.url, state)
    cp = Checkpoint(bs.ORIGIN, 4, served.s.led.root(4), (format_revset_extension(0, EMPTY_ROOT),))
    served.proxy.checkpoint = sign_checkpoint(cp, Ed25519NoteSigner(bs.ORIGIN, bs.ISSUER)).note
    res = lic_cli("ledger", "follow", served.url, "--state", state, code=1)
    assert "log key" in res.stderr
    assert _size(state) == 4


def test_entries_that_do_not_make_the_signed_tree_are_caught(served, lic_cli, tmp_path):
    state = tmp_path / "f"
    _follow(lic_cli, served.url, state)
    served.add_keys(2)
    size = served.s.checkpoint(bs.T0 + 200)
    bundle = Tile(ENTRIES_LEVEL, 0, size)
    records = [served.s.led.record_bytes(i) for i in range(size)]
    r = decode_record(records[5])
    records[5] = encode_record(r.index, r.prev, r.time + 1, r.entry_type, r.entry)
    served.proxy.override[bundle.path] = format_entry_bundle(records, [None] * size)
    (ev,) = _follow(lic_cli, served.url, state, code=1).json["evidence"]
    assert (ev["kind"], ev["index"]) == ("entries", 5) and "does not hash" in ev["message"]
    assert _size(state) == 4
