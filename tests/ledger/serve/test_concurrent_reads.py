"""The server reads while another process appends and checkpoints (WAL): every checkpoint it
serves has its root in the tiles, and each is consistent with the one read before it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from helpers.paths import ROOT
from helpers.serve_world import Running, make_small
from helpers.tiles_client import HttpSource, TilesClient
from ledger.tlog import verify_consistency

WORKER = ROOT / "tests" / "ledger" / "store" / "ledger_worker.py"


def test_reads_during_appends_by_another_process(tmp_path):
    led = make_small(tmp_path / "l.db")
    led.close()
    run = Running(tmp_path / "l.db")
    writer = subprocess.Popen(
        [sys.executable, str(WORKER), "append", str(tmp_path / "l.db"), "w", "400"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seen: list[tuple[int, bytes]] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(seen) < 200:
            done = writer.poll() is not None
            client = TilesClient(HttpSource(run.url))
            _, size, root, _ = client.checkpoint()
            assert client.root(size) == root
            if seen and size != seen[-1][0]:
                old_size, old_root = seen[-1]
                verify_consistency(
                    old_size, size, client.consistency(old_size, size), old_root, root
                )
            if not seen or size != seen[-1][0]:
                seen.append((size, root))
            if done:
                break
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        run.stop()
    assert seen[0][0] >= 321 and seen[-1][0] == 321 + 400  # the last append checkpoints
    assert len(seen) >= 3, seen  # checkpoints were read while the writer was running
