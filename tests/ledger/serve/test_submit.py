"""POST /entries against a real server process: every malformed or refused kind is a 4xx with
its finding as JSON; concurrent submitters are sequenced with group commit (distinct,
contiguous indexes, each receipt verifies); a full queue answers 503 with Retry-After; a
read-only server refuses writes; kill -9 under load loses no acknowledged entry."""

from __future__ import annotations

import http.client
import json
import socket
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers.serve_world import Running
from helpers.submit_world import (
    ISSUER,
    MEDIA,
    STRANGER,
    ServerProcess,
    make_ledger,
    post_entry,
    request,
    request_entry,
)
from ledger.audit import audit_db
from ledger.entries import MAX_ENTRY_SIZE, make_entry, verify_receipt
from ledger.store import Ledger


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Path, ServerProcess]]:
    db = tmp_path_factory.mktemp("submit") / "l.db"
    make_ledger(db)
    server = ServerProcess(db, interval=0.1, read_timeout=1.0)
    yield db, server
    err = server.stop()
    assert "Traceback" not in err, err


def _json(answer) -> dict:
    assert answer.headers["content-type"] == "application/json", answer.headers
    return json.loads(answer.body)


def _revoke_unknown() -> bytes:
    p = {
        "at": int(time.time()),
        "tokens": [bytes(32)],
        "reason": "legal_order",
        "effective": int(time.time()),
        "cascade": True,
    }
    return make_entry("revoke", p, ISSUER)


def _bad_signature() -> bytes:
    e = request_entry(1)
    return e[:-1] + bytes([e[-1] ^ 1])


def _bad_schema() -> bytes:
    from ledger.entries import sign_entry
    from lic import cbor

    return sign_entry("access.request", cbor.encode({"at": 1, "tier": "nobody"}), ISSUER)


@pytest.mark.parametrize(
    ("body", "ctype", "status", "error", "kind"),
    [
        (b"", MEDIA, 400, "malformed", None),
        (b"\xff\xff", MEDIA, 400, "malformed", None),  # not CBOR
        (b"\xa0", MEDIA, 400, "malformed", None),  # CBOR, not a COSE_Sign1
        (request_entry(0) + b"\x00", MEDIA, 400, "malformed", None),  # trailing bytes
        (_bad_schema(), MEDIA, 422, "refused", "schema"),
        (_bad_signature(), MEDIA, 422, "refused", "signature"),
        (request_entry(2, STRANGER), MEDIA, 422, "refused", "author"),
        (_revoke_unknown(), MEDIA, 422, "refused", "state"),
        (request_entry(3), "application/cbor", 415, "unsupported_media_type", None),
        (request_entry(4), 'application/cose; cose-type="cose-mac0"', 415, None, None),
    ],
)
def test_every_bad_submission_is_a_4xx_with_its_finding(served, body, ctype, status, error, kind):
    _, server = served
    got = request(server.url, "POST", "/entries", body, {"Content-Type": ctype})
    assert got.status == status, got.body
    answer = _json(got)
    assert answer["detail"]
    if error is not None:
        assert answer["error"] == error
    if kind is not None:
        assert answer["kind"] == kind


def test_missing_content_type_oversize_and_bad_wait(served):
    _, server = served
    assert request(server.url, "POST", "/entries", request_entry(5)).status == 415
    big = bytes(MAX_ENTRY_SIZE + 1)
    got = request(server.url, "POST", "/entries", big, {"Content-Type": MEDIA})
    assert (got.status, _json(got)["error"]) == (413, "too_large")
    for wait in ("x", "-1", "1e3", "01", ""):
        got = request(
            server.url, "POST", f"/entries?wait={wait}", request_entry(6), {"Content-Type": MEDIA}
        )
        assert got.status == 400, wait
    for path in ("/entries/x/receipt", "/entries/01/receipt", "/status/zz", "/status/" + "A" * 64):
        assert request(server.url, "GET", path).status == 400, path
    assert request(server.url, "GET", "/entries/999999/receipt").status == 404
    assert request(server.url, "GET", "/entries").status == 405


def test_a_slow_client_times_out(served):
    _, server = served
    parts = urllib.parse.urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(
            b"POST /entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/cose\r\n"
            b"Content-Length: 100\r\n\r\n0123456789"
        )
        start = time.monotonic()
        data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 408"), data
        assert time.monotonic() - start < 8


def test_accepted_with_and_without_waiting_for_the_receipt(served):
    db, server = served
    entry = request_entry(10)
    got = post_entry(server.url, entry, wait=10)
    assert got.status == 200, got.body
    a = _json(got)
    receipt, cp = verify_receipt(a["receipt"].encode(), Ledger.open(db).log_verifier, entry)
    assert receipt.index == a["index"] and cp.size > a["index"]
    got = post_entry(server.url, request_entry(11))  # no wait: 202 and a URL to poll
    assert got.status in (200, 202)
    b = _json(got)
    assert b["index"] == a["index"] + 1
    assert got.status == 200 or got.headers["location"] == b["receipt_url"]
    deadline = time.monotonic() + 20
    while (r := request(server.url, "GET", b["receipt_url"])).status == 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert r.status == 200
    with Ledger.open(db) as led:
        verify_receipt(r.body, led.log_verifier, request_entry(11))
        assert led.leaf_hash(b["index"]).hex() == b["leaf_hash"]


def test_concurrent_submitters_get_contiguous_indexes_and_valid_receipts(served):
    db, server = served
    entries = [request_entry(1000 + i) for i in range(96)]
    with ThreadPoolExecutor(48) as pool:
        answers = list(pool.map(lambda e: post_entry(server.url, e, wait=20), entries))
    assert [a.status for a in answers] == [200] * len(entries)
    infos = [_json(a) for a in answers]
    indexes = sorted(i["index"] for i in infos)
    assert indexes == list(range(indexes[0], indexes[0] + len(entries)))
    with Ledger.open(db) as led:
        for e, info in zip(entries, infos, strict=True):
            verify_receipt(info["receipt"].encode(), led.log_verifier, e)
            assert led.record(info["index"]).entry == e


def test_a_full_queue_answers_503_with_retry_after(tmp_path):
    db = tmp_path / "l.db"
    make_ledger(db)
    server = ServerProcess(db, interval=0.1, max_queue=1, max_batch=1)
    try:
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # the writer blocks on its next commit
        try:
            with ThreadPoolExecutor(4) as pool:
                # the writer holds at most one entry and the queue one more: by the third
                # submission at the latest, one is answered at once with 503
                waiting, busy = [], None
                for n in range(4):
                    f = pool.submit(post_entry, server.url, request_entry(n))
                    try:
                        busy = f.result(timeout=0.5)
                        break
                    except TimeoutError:
                        waiting.append(f)  # queued or being written: it waits for the lock
                assert busy is not None and len(waiting) <= 2, (busy, len(waiting))
                assert busy.status == 503, busy.body
                assert busy.headers["retry-after"] == "1"
                assert _json(busy)["error"] == "busy"
                lock.execute("ROLLBACK")
                assert [f.result(30).status in (200, 202) for f in waiting] == [True] * len(waiting)
        finally:
            lock.close()
    finally:
        server.stop()


def test_a_read_only_server_refuses_writes(tmp_path):
    db = tmp_path / "l.db"
    make_ledger(db)
    run = Running(db)
    try:
        got = post_entry(run.url, request_entry(1))
        assert got.status == 405
        assert "read-only" in _json(got)["detail"]
        assert got.headers["allow"] == "GET, HEAD"
    finally:
        run.stop()


def test_kill_9_under_load_loses_no_acknowledged_entry(tmp_path):
    db = tmp_path / "l.db"
    make_ledger(db)
    server = ServerProcess(db, interval=0.05)
    acked: dict[int, bytes] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def submitter(k: int) -> None:
        n = 0
        while not stop.is_set() and n < 500:
            entry = request_entry(100_000 * (k + 1) + n)
            n += 1
            try:
                got = post_entry(server.url, entry, timeout=10)
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            if got.status in (200, 202):
                with lock:
                    acked[json.loads(got.body)["index"]] = entry

    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL, mid-stream
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) >= 50
    with Ledger.open(db) as led:
        assert led.size >= max(acked) + 1
        for index, entry in acked.items():
            assert led.record(index).entry == entry, index
    result = audit_db(db)
    assert result.clean, result.findings[:5]
    # the log carries on where it stopped
    server = ServerProcess(db, interval=0.05)
    try:
        got = post_entry(server.url, request_entry(1), wait=10)
        assert got.status == 200
        assert _json(got)["index"] == result.size
    finally:
        server.stop()
