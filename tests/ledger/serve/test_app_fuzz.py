"""The ASGI application itself, driven without a network: any request path, well formed or
not, gets 200, 400, 404 or 405 in plain text or octet-stream, never a 500 or a traceback."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.serve_world import make_small
from ledger.serve import make_app


async def _call(app, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept-encoding", b"gzip")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict] = []
    first = True

    async def receive():
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    led = make_small(tmp_path_factory.mktemp("fuzz") / "l.db")
    led.close()
    return make_app(led.path)


_ALPHABET = "0123456789x./pentriesblobtile-_%~ \\?#é٣"


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(_ALPHABET, max_size=60).map(lambda s: "/tile/" + s),
        st.text(_ALPHABET, max_size=80).map(lambda s: "/blob/" + s),
        st.text(_ALPHABET, max_size=40).map(lambda s: "/" + s),
    ),
    st.sampled_from(["GET", "HEAD", "POST", "PUT"]),
)
def test_no_path_fails_the_application(app, path, method):
    status, headers, body = asyncio.run(_call(app, method, path))
    assert status in (200, 400, 404, 405), (path, status, body)
    assert b"Traceback" not in body
    if status == 400:
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert body.endswith(b"\n") and body.count(b"\n") == 1
