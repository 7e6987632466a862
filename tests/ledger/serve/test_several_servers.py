"""Several `lic serve` processes over ONE PostgreSQL ledger (issue 17, item 3): clients submit
to all of them at once; every accepted entry gets exactly one index and none is lost; every
server's scheduled checkpoints are the ledger's (they advance by compare-and-swap under the
head lock, whichever server signs); receipts, tiles and token status read through one server
show what another one wrote (nothing a server caches goes stale when another writes); the
audit of the result is clean and finds the stored state equal to its replay. And one server's
writer survives losing the write lock past its wait and a broken connection: it answers 503,
retries its checkpoint, reopens its handle and goes on."""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from helpers.serve_world import Running
from helpers.submit_world import (
    HOLDER,
    ISSUER,
    LOG,
    ServerProcess,
    make_ledger,
    post_entry,
    request,
    request_entry,
)
from helpers.tiles_client import HttpSource, TilesClient
from ledger.audit import audit_db
from ledger.entries import decode_record, make_entry, verify_receipt
from ledger.serve import WriteOptions, verify_status
from ledger.store import Ledger

SERVERS = 3
PER_SERVER = 40


def _grant(digest: bytes) -> bytes:
    now = int(time.time())
    p = {
        "at": now,
        "token_digest": digest,
        "holder": HOLDER.public_key.raw,
        "licensee": hashlib.sha256(b"salt|several").digest(),
        "tier": "academic",
        "not_before": now - 1000,
        "not_after": now + 10**6,
    }
    return make_entry("grant", p, ISSUER)


def _revoke(digest: bytes) -> bytes:
    now = int(time.time())
    p = {"at": now, "tokens": [digest], "reason": "legal_order", "effective": now - 10}
    return make_entry("revoke", {**p, "cascade": True}, ISSUER)


def _checkpoint_size(url: str) -> int:
    got = request(url, "GET", "/checkpoint")
    assert got.status == 200, got.body
    return int(got.body.split(b"\n")[1])


def _status(url: str, digest: bytes, verifier) -> str:
    got = request(url, "GET", f"/status/{digest.hex()}")
    assert got.status == 200, got.body
    return verify_status(got.body, digest, verifier).status


def test_three_servers_sequence_into_one_ledger(pg_cluster):
    url = pg_cluster.new_url("several")
    make_ledger(url)  # record 0 registers the issuer
    with Ledger.open(url) as led:
        verifier = led.log_verifier
    servers = [ServerProcess(url, interval=0.05) for _ in range(SERVERS)]
    try:
        work = [
            (k, request_entry(10_000 * k + i), 10 if i % 4 == 0 else None)
            for i in range(PER_SERVER)
            for k in range(SERVERS)
        ]

        def submit(job):
            k, entry, wait = job
            return post_entry(servers[k].url, entry, wait=wait)

        with ThreadPoolExecutor(8 * SERVERS) as pool:
            answers = list(pool.map(submit, work))
        assert [a.status for a in answers if a.status not in (200, 202)] == []
        infos = [json.loads(a.body) for a in answers]
        indexes = sorted(i["index"] for i in infos)
        total = SERVERS * PER_SERVER
        assert indexes == list(range(1, 1 + total)), "an index was lost or duplicated"
        with Ledger.open(url) as led:
            for (_, entry, _), info in zip(work, infos, strict=True):
                assert led.record(info["index"]).entry == entry
                if "receipt" in info:  # made by the server that took it
                    verify_receipt(info["receipt"].encode(), verifier, entry)
        # each server publishes a checkpoint covering every record, whoever wrote them, and
        # what it serves is the ledger's own checkpoint
        deadline = time.monotonic() + 30
        for s in servers:
            while _checkpoint_size(s.url) < 1 + total:
                assert time.monotonic() < deadline, "a server's checkpoint stopped advancing"
                time.sleep(0.05)
        with Ledger.open(url) as led:
            for s in servers:
                note = request(s.url, "GET", "/checkpoint").body
                size = int(note.split(b"\n")[1])
                assert note == led.cosigned_checkpoint(size).note
            sizes = [cp.checkpoint.size for cp in led.checkpoints()]  # each verified
            assert sizes == sorted(set(sizes)) and sizes[-1] == 1 + total
            root = led.root(1 + total)
        # reads through one server of what the others wrote: receipts, tiles, bundles
        for (k, entry, _), info in list(zip(work, infos, strict=True))[:: SERVERS + 1]:
            other = servers[(k + 1) % SERVERS]
            got = request(other.url, "GET", info["receipt_url"])
            assert got.status == 200, got.body
            verify_receipt(got.body, verifier, entry)
        client = TilesClient(HttpSource(servers[2].url))
        assert client.root(1 + total) == root
        bundle = client.bundle(0, 1 + total)
        assert decode_record(bundle[infos[0]["index"]]).entry == work[0][1]
        # token status through a third server after a grant and a revocation through others
        token = hashlib.sha256(b"several servers token").digest()
        assert post_entry(servers[0].url, _grant(token), wait=10).status == 200
        assert _status(servers[2].url, token, verifier) == "active"
        assert post_entry(servers[1].url, _revoke(token), wait=10).status == 200
        deadline = time.monotonic() + 30
        while _checkpoint_size(servers[2].url) < 3 + total:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert _status(servers[2].url, token, verifier) == "revoked"
    finally:
        errors = [s.stop() for s in servers]
    for err in errors:
        assert "Traceback" not in err and "writer stopped" not in err, err
    result = audit_db(url)
    assert result.clean, result.findings[:5]
    assert result.size == 3 + total
    assert result.stored_state == "equal"


def _backends(admin_url: str, app: str) -> list[int]:
    with psycopg.connect(admin_url, autocommit=True) as c:
        rows = c.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def _until_accepted(url: str, n: int) -> tuple[dict, list[int]]:
    """Submit entry ``n`` until it is taken; the statuses of the refusals before."""
    refused = []
    for _ in range(20):
        got = post_entry(url, request_entry(n), timeout=60)
        if got.status in (200, 202):
            return json.loads(got.body), refused
        refused.append(got.status)
        time.sleep(0.1)
    raise AssertionError(f"never accepted: {refused}")


def test_a_writer_survives_a_lost_lock_and_a_broken_connection(pg_cluster, monkeypatch, capfd):
    import ledger.store._conn as conn_module

    monkeypatch.setattr(conn_module, "BUSY_TIMEOUT_MS", 300)  # lock_timeout of new handles
    app = "lic-serve-survives"
    url = pg_cluster.new_url("survives") + f"&application_name={app}"
    make_ledger(url)
    opts = WriteOptions(LOG, checkpoint_interval=1.0)
    run = Running(url, write=opts)  # in a thread of this process: the lock wait is patched
    base = run.url
    try:
        first, _ = _until_accepted(base, 1)
        assert first["index"] == 1
        # another writer holds the head row past the lock wait: the batch loses, and its
        # submitter hears 503 (nothing was written)
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("BEGIN")
            other.execute("SELECT 1 FROM head WHERE id = 0 FOR UPDATE")
            got = post_entry(base, request_entry(2), timeout=60)
            assert got.status == 503 and json.loads(got.body)["error"] == "unavailable"
            other.execute("ROLLBACK")
        # ... and a scheduled checkpoint loses: it is reported, and the next tick signs it
        for n in range(3, 13):
            taken = _until_accepted(base, n)[0]["index"]
            with psycopg.connect(url, autocommit=True) as other:
                other.execute("BEGIN")
                head = other.execute("SELECT size FROM head WHERE id = 0 FOR UPDATE").fetchone()
                if head[0] > taken:  # the tick came first: try again
                    other.execute("ROLLBACK")
                    continue
                time.sleep(1.6)  # a tick falls in here, and waits 0.3 s for the lock in vain
                other.execute("ROLLBACK")
            break
        else:
            raise AssertionError("every checkpoint was signed before the lock was taken")
        assert "checkpoint not signed" in capfd.readouterr().err
        deadline = time.monotonic() + 20
        while _checkpoint_size(base) <= taken:
            assert time.monotonic() < deadline, "the checkpoint was not retried"
            time.sleep(0.05)
        # every connection of the server is cut: the writer reopens its handle, the readers
        # drop theirs; a refusal meanwhile is a 503, never a 500
        assert post_entry(base, request_entry(40), wait=10).status == 200  # readers connected
        with psycopg.connect(pg_cluster.url, autocommit=True) as admin:
            for pid in _backends(pg_cluster.url, app):
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        third, refused = _until_accepted(base, 50)
        assert third["index"] == taken + 2 and set(refused) <= {503}
        statuses = [request(base, "GET", "/checkpoint").status for _ in range(12)]
        assert statuses[-1] == 200 and set(statuses) <= {200, 503}, statuses
        deadline = time.monotonic() + 20
        while _checkpoint_size(base) < taken + 3:  # the scheduled checkpoint goes on
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        run.stop()
    err = capfd.readouterr().err
    assert "writer stopped" not in err and "Traceback" not in err, err
    result = audit_db(url)
    assert result.clean and result.size == taken + 3 and result.stored_state == "equal"


def test_a_read_only_postgresql_handle_cannot_write(pg_cluster):
    from ledger.entries import sign_entry
    from ledger.store import open_read_only

    url = pg_cluster.new_url("readonly")
    make_ledger(url)
    ro = open_read_only(url)
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            ro.append("test", sign_entry("test", b"x", ISSUER))
        assert ro.size == 1
    finally:
        ro.close()
