"""Building a state by a replay reports progress (``state_of``, the one-time build of the state
tables), and the progress line on a terminal."""

import pytest

from helpers.ledger_world import T0, World, build
from ledger.state import _apply as _typed
from ledger.state import state_of
from ledger.store import Ledger


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
