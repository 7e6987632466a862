"""The witness tests' logs live on each backend (``ledger_at``: a SQLite file, a PostgreSQL
schema); a witness's own store stays a SQLite file (that is the witness's state, whatever the
log it watches is kept in)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from helpers.witnesses import Log


@pytest.fixture
def new_log(ledger_at) -> Iterator[Callable[..., Log]]:
    """``new_log(name="l", salt=b"")``: a growing Log on this test's backend, closed at the
    end of the test."""
    made: list[Log] = []

    def make(name: str = "l", salt: bytes = b"") -> Log:
        made.append(Log(ledger_at(name), salt=salt))
        return made[-1]

    yield make
    for log in made:
        log.led.close()
