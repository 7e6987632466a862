"""A typed append on a new ledger handle reads the ledger's state first: with progress, and
outside the write transaction, so another writer does not wait for that read."""

import pytest

from helpers.ledger_world import T0, World, build, key
from ledger.state import _apply as _typed
from ledger.state import state_of
from ledger.store import Ledger, append_entry
from ledger.store import _conn as _store
from ledger.tlog import format_revset_extension


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return build(tmp_path_factory.mktemp("progress") / "ledger.db")


def _views(state) -> tuple:
    return state.size, sorted(state.revoked_digests()), sorted(state.terms_in_force(T0 + 10**7))


def test_state_of_reports_progress_and_builds_the_same_state(world, monkeypatch):
    monkeypatch.setattr(_typed, "STATE_PROGRESS_EVERY", 5)
    with Ledger.open(world.path) as led:
        n = led.size
        seen: list[int] = []
        with_progress = state_of(led.iter_records(), led.log_verifier.public_key.raw, seen.append)
        plain = state_of(led.iter_records(), led.log_verifier.public_key.raw)
    expected = list(range(5, n + 1, 5)) + ([n] if n % 5 else [])
    assert n > 10 and seen == expected
    assert _views(with_progress) == _views(plain)


def test_short_ledgers_report_nothing(world):
    with Ledger.open(world.path) as led:
        seen: list[int] = []
        state_of(led.iter_records(), led.log_verifier.public_key.raw, seen.append)
    assert seen == []  # fewer records than STATE_PROGRESS_EVERY


def test_a_typed_append_reads_the_state_once_per_handle_outside_the_write_transaction(
    world, tmp_path, monkeypatch
):
    """The first typed append on a handle reports reading every record; while it reads,
    another handle appends (it would wait for the lock if the read ran inside the write
    transaction); the first append then checks against that record too and lands after it."""
    monkeypatch.setattr(_typed, "STATE_PROGRESS_EVERY", 4)
    monkeypatch.setattr(_store, "BUSY_TIMEOUT_MS", 200)  # a writer held up fails soon
    path = tmp_path / "ledger.db"
    path.write_bytes(world.path.read_bytes())
    extra = [key(20 + i) for i in range(3)]
    seen: list[int] = []

    def meanwhile(n: int) -> None:
        seen.append(n)
        if len(seen) == 1:
            with Ledger.open(path) as other:
                add_key(other, extra[0], T0 + 10**5)

    def add_key(led: Ledger, k, t: int, progress=None) -> int:
        payload = {"at": t, "key": k.public_key.raw, "role": "attester", "name": f"k{t}"}
        return append_entry(
            led, "key.add", payload, world.log, now=t, log_key=world.log, progress=progress
        ).index

    with Ledger.open(path) as led:
        size = led.size
        index = add_key(led, extra[1], T0 + 10**5 + 1, progress=meanwhile)
        assert index == size + 1  # after the record the other handle appended meanwhile
        assert seen[-1] == size and seen == sorted(seen)
        seen.clear()
        assert add_key(led, extra[2], T0 + 10**5 + 2, progress=meanwhile) == size + 2
        assert seen == []  # the handle keeps its state


class _Terminal:
    """Standard error as a terminal, collecting what is written."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


def test_progress_line_names_the_work_and_stays_silent_when_there_was_none(monkeypatch):
    import sys

    from cli._replayopts import STATE_READ, replay_progress

    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    with replay_progress(False, STATE_READ) as show:
        assert show is not None
    assert term.text == ""  # a short ledger: no line, not even an empty one
    with replay_progress(False, STATE_READ) as show:
        assert show is not None
        show(8192)
        show(16384)
    assert term.text.startswith("\rreading the ledger's state: 8,192 records (")
    assert "\rreading the ledger's state: 16,384 records (" in term.text
    assert term.text.endswith("\n") and term.text.count("\n") == 1
    term.text = ""
    with replay_progress(True, STATE_READ) as show:
        assert show is None  # --quiet
    assert term.text == ""


def test_a_checkpoint_reads_the_state_outside_the_write_transaction_and_only_when_needed(
    world, tmp_path, monkeypatch
):
    """Signing a checkpoint on a new handle reads the state (for its revoked-set line)
    before the write lock: another handle appends meanwhile, and the checkpoint then covers
    that record too. At the latest checkpoint's size nothing is read."""
    monkeypatch.setattr(_typed, "STATE_PROGRESS_EVERY", 4)
    monkeypatch.setattr(_store, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "ledger.db"
    path.write_bytes(world.path.read_bytes())
    seen: list[int] = []
    with Ledger.open(path) as led:
        assert led.checkpoint(world.log, progress=seen.append).checkpoint.size == led.size
        assert seen == []  # the latest checkpoint already covers every record
    with Ledger.open(path) as writer:
        add_key = {"at": T0 + 10**5, "key": key(30).public_key.raw, "role": "attester",
                   "name": "k30"}  # fmt: skip
        append_entry(writer, "key.add", add_key, world.log, now=T0 + 10**5)
        size = writer.size

    def meanwhile(n: int) -> None:
        seen.append(n)
        if len(seen) == 1:
            with Ledger.open(path) as other:
                payload = {"at": T0 + 10**5 + 1, "key": key(31).public_key.raw,
                           "role": "attester", "name": "k31"}  # fmt: skip
                append_entry(other, "key.add", payload, world.log, now=T0 + 10**5 + 1)

    with Ledger.open(path) as led:
        cp = led.checkpoint(world.log, progress=meanwhile)
        assert seen[-1] == size and cp.checkpoint.size == size + 1
    with Ledger.open(path) as fresh:  # the revoked-set line, read afresh: the same
        rs = fresh.revoked_set(size + 1)
        assert cp.checkpoint.extensions == (format_revset_extension(rs.size, rs.root),)
