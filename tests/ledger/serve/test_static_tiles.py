"""`lic ledger tiles` writes what `lic serve` serves, byte for byte, incrementally: a rerun writes
only the new full tiles, the new partial ones and the checkpoint, never a full tile again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.serve_world import LOG, ORIGIN, Running, entries, make_small
from helpers.tiles_client import TilesClient, dir_source, fetch_status
from keys import LedgerIntegrityError, SigningKey
from ledger.store import Ledger, write_tiles


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def test_static_files_equal_the_served_ones(tmp_path, lic_cli):
    led = make_small(tmp_path / "l.db")
    out = tmp_path / "out"
    res = lic_cli("ledger", "tiles", "--db", str(led.path), "--out", str(out), "--json")
    assert res.json["size"] == 321 and res.json["previous_size"] == 0
    assert (res.json["tiles"], res.json["partial_tiles"], res.json["entry_bundles"]) == (1, 2, 2)
    assert res.json["blobs"] == 1 and res.json["checkpoint_written"] is True
    written = files(out)
    assert set(written) == {
        "checkpoint",
        "tile/0/000",
        "tile/0/001.p/65",
        "tile/1/000.p/1",
        "tile/entries/000",
        "tile/entries/001.p/65",
        "blob/" + __import__("hashlib").sha256(led.record_bytes(300)).hexdigest(),
    }
    run = Running(led.path)
    try:
        for rel, data in written.items():
            status, _, body = fetch_status(f"{run.url}/{rel}")
            assert (status, body) == (200, data), rel
    finally:
        run.stop()
    client = TilesClient(dir_source(out))
    _, size, root, _ = client.checkpoint()
    assert client.root(size) == root == led.root(size)
    assert [e for n in range(2) for e in client.bundle(n, size)] == [
        r for _, r in led.iter_records(0, size)
    ]
    led.close()


def test_a_rerun_writes_only_what_changed(tmp_path, lic_cli):
    led = make_small(tmp_path / "l.db")
    out = tmp_path / "out"
    lic_cli("ledger", "tiles", "--db", str(led.path), "--out", str(out))
    full = out / "tile" / "0" / "000"
    before = os.stat(full)
    res = lic_cli("ledger", "tiles", "--db", str(led.path), "--out", str(out), "--json")
    assert res.json | {"out": ""} == {
        "out": "",
        "size": 321,
        "previous_size": 321,
        "tiles": 0,
        "partial_tiles": 0,
        "entry_bundles": 0,
        "blobs": 0,
        "unchanged": 0,
        "checkpoint_written": False,
    }
    led.append_batch(entries(321, 200), log_key=LOG)  # 521: tile 1 completes, 9 left over
    res = lic_cli("ledger", "tiles", "--db", str(led.path), "--out", str(out), "--json")
    assert (res.json["previous_size"], res.json["size"]) == (321, 521)
    # new: tile/0/001, tile/0/002.p/9, tile/1/000.p/2, the two bundles; the large record's
    # blob was written by the first run and is found in place when bundle 1 is written
    assert (res.json["tiles"], res.json["partial_tiles"], res.json["entry_bundles"]) == (1, 2, 2)
    assert (res.json["blobs"], res.json["unchanged"]) == (0, 1)
    after = os.stat(full)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    client = TilesClient(dir_source(out))
    _, size, root, _ = client.checkpoint()
    assert size == 521 and client.root(size) == root == led.root(size)
    assert client.consistency(321, size) == led.consistency_proof(321, size)
    assert (out / "tile/0/001.p/65").is_file()  # an older size's partial tile stays
    led.close()


def test_the_checkpoint_carries_the_stored_cosignatures(tmp_path, lic_cli):
    from ledger.tlog import cosign

    led = make_small(tmp_path / "l.db")
    out = tmp_path / "out"
    lic_cli("ledger", "tiles", "--db", str(led.path), "--out", str(out))
    witness = SigningKey.from_seed(bytes(range(32)))
    text = led.latest_checkpoint().note.split(b"\n\n")[0] + b"\n"
    line = cosign(text, witness, "witness.example", 1_767_225_600)
    led.add_cosignatures(321, [line])
    res = lic_cli("ledger", "tiles", "--db", str(led.path), "--out", str(out), "--json")
    assert res.json["checkpoint_written"] is True and res.json["tiles"] == 0
    assert (out / "checkpoint").read_bytes() == led.cosigned_checkpoint().note
    assert (out / "checkpoint").read_bytes().endswith(line.encode())
    led.close()


def test_another_logs_directory_is_refused(tmp_path, lic_cli):
    led = make_small(tmp_path / "l.db")
    other_key = SigningKey.from_seed(bytes([7]) * 32)
    other = Ledger.create(tmp_path / "o.db", ORIGIN, other_key)
    other.append_batch(entries(1000, 300), log_key=other_key)
    out = tmp_path / "out"
    lic_cli("ledger", "tiles", "--db", str(other.path), "--out", str(out))
    res = lic_cli("ledger", "tiles", "--db", str(led.path), "--out", str(out), code=2)
    assert "not a checkpoint of this log" in res.stderr
    (out / "checkpoint").unlink()  # without it, the tiles in place must match
    with pytest.raises(LedgerIntegrityError, match="other content"):
        write_tiles(led, out)
    led.close()
    other.close()


def test_no_checkpoint_yet(tmp_path, lic_cli):
    led = Ledger.create(tmp_path / "l.db", ORIGIN, LOG.public_key)
    led.close()
    res = lic_cli(
        "ledger", "tiles", "--db", str(tmp_path / "l.db"), "--out", str(tmp_path / "o"), code=2
    )
    assert "no checkpoint yet" in res.stderr
