"""For the follower's tests: `lic serve` as a subprocess on 127.0.0.1 (a free port), and a
loopback proxy in front of it that forwards every GET, records the paths asked for (so a test
counts what a follower fetched), can switch to another upstream log at the same URL (a fork),
serve a checkpoint or another resource of the test's own instead of the log's (a lie), answer
500 for a path, or
hold a request until the test releases it (so a follower can be killed mid-run)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from helpers.paths import ROOT


@contextmanager
def lic_serve(db: Path | str) -> Iterator[str]:
    """`lic serve --db DB` (a file or a URL) on 127.0.0.1 and a free port; yields its URL,
    stops it at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--db", str(db), "--listen", "127.0.0.1:0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("listening on http://127.0.0.1:"), (line, proc.poll())
        url = line.split()[-1]
        deadline = time.monotonic() + 20
        while True:  # uvicorn accepts just after the line is printed
            try:
                urllib.request.urlopen(f"{url}/checkpoint", timeout=5).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                assert time.monotonic() < deadline, "lic serve did not answer"
                time.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


class LogProxy:
    """A loopback proxy to ``upstream`` (change it at any time), in a thread."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.paths: list[str] = []
        self.checkpoint: bytes | None = None  # served instead of the upstream's when set
        self.override: dict[str, bytes] = {}  # other paths served with these bytes
        self.fail: set[str] = set()  # paths answered with a 500
        self.hold: str | None = None  # a path held until ``release`` is set
        self.held = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.lstrip("/")
                proxy.paths.append(path)
                if path == proxy.hold:
                    proxy.held.set()
                    proxy.release.wait(60)
                if path in proxy.fail:
                    self._send(500, b"injected failure\n")
                elif path == "checkpoint" and proxy.checkpoint is not None:
                    self._send(200, proxy.checkpoint)
                elif path in proxy.override:
                    self._send(200, proxy.override[path])
                else:
                    headers = {}
                    if "Accept-Encoding" in self.headers:  # the client's, passed on
                        headers["Accept-Encoding"] = self.headers["Accept-Encoding"]
                    req = urllib.request.Request(f"{proxy.upstream}/{path}", headers=headers)
                    try:
                        with urllib.request.urlopen(req, timeout=20) as r:
                            enc = r.headers.get("Content-Encoding")
                            self._send(r.status, r.read(), {"Content-Encoding": enc} if enc else {})
                    except urllib.error.HTTPError as e:
                        with e:
                            self._send(e.code, e.read())
                    except OSError:
                        self._send(502, b"upstream unreachable\n")

            def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the follower was killed while held

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self) -> list[str]:
        """The paths asked for since the last call."""
        out, self.paths = self.paths, []
        return out

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
