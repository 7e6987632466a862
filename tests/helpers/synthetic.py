"""Synthetic ledgers for tests that only need "a ledger of N records": ledger.store.synthesize
into a fresh SQLite file, checkpointed, built once per set of parameters in a test session
(the root conftest's ``synthetic_ledger`` fixture). Callers treat the files as read-only and
copy them before changing anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from keys import SigningKey
from ledger.store import Ledger, synthesize


@dataclass(frozen=True)
class SyntheticLedger:
    """A built ledger: its file, the log key that signed it, its size, and its JSONL export
    (beside the file) when one was asked for."""

    path: Path
    log_key: SigningKey
    size: int
    jsonl: Path | None


class SyntheticLedgers:
    """Builds each synthetic ledger in a directory of its own (from ``make_dir``) and hands
    out the same one for the same parameters."""

    def __init__(self, make_dir: Callable[[str], Path]) -> None:
        self._make_dir = make_dir
        self._built: dict[tuple[object, ...], SyntheticLedger] = {}

    def __call__(
        self,
        n: int,
        *,
        seed: int = 1,
        log_seed: bytes = bytes(32),
        origin: str = "synth.example/log",
        jsonl: bool = False,
    ) -> SyntheticLedger:
        """A checkpointed ledger of at least ``n`` synthesized records (``synthesize`` with
        ``seed``), signed by the log key of ``log_seed``, with an export if ``jsonl``."""
        key = (n, seed, log_seed, origin, jsonl)
        if key not in self._built:
            self._built[key] = self._build(n, seed, log_seed, origin, jsonl)
        return self._built[key]

    def _build(
        self, n: int, seed: int, log_seed: bytes, origin: str, jsonl: bool
    ) -> SyntheticLedger:
        log = SigningKey.from_seed(log_seed)
        d = self._make_dir("synthetic")
        path = d / "ledger.db"
        with Ledger.create(path, origin, log) as led:
            size = synthesize(led, n, log_key=log, seed=seed)
            led.checkpoint(log)
            export = d / "export.jsonl" if jsonl else None
            if export is not None:
                with open(export, "w") as f:
                    led.export_jsonl(f)
        return SyntheticLedger(path, log, size, export)
