"""Running the read API: a socket bound to a loopback address and uvicorn serving
``make_app`` on it, in the calling thread until told to stop (or, in the main thread, until
SIGINT or SIGTERM, which uvicorn turns into a graceful shutdown before passing them on)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import uvicorn

from ..witness import check_loopback
from ._app import make_app
from ._sequencer import WriteOptions

__all__ = ["LogServer"]

_KEEP_ALIVE_S = 5
_MAX_CONNECTIONS = 512

_BACKLOG = 2048  # pending connections (uvicorn's own default)


class LogServer:
    """The API of the ledger ``db`` on a loopback ``host`` and ``port`` (0: an ephemeral
    port, read back from ``port``): read-only, or taking submissions with ``write``. The
    socket is bound when this is made; ``run`` serves until ``stop``."""

    def __init__(
        self,
        db: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        write: WriteOptions | None = None,
    ) -> None:
        addr = check_loopback(host)
        app = make_app(db, write)
        family = socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET
        # proto IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on sockets that say TCP,
        # and without it a keep-alive client waits out a delayed ACK (~40 ms) per answer
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((addr, port))
            # listening from here on: a client that connects once 'listening on' is printed
            # waits in the backlog until uvicorn accepts, instead of being refused
            self.socket.listen(_BACKLOG)
        except BaseException:
            self.socket.close()
            raise
        config = uvicorn.Config(
            app,
            http="httptools",  # C parser, a dependency: the same parser wherever we run
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_keep_alive=_KEEP_ALIVE_S,
            limit_concurrency=_MAX_CONNECTIONS,
            server_header=False,
        )
        self._server = uvicorn.Server(config)

    @property
    def port(self) -> int:
        """The port the socket is bound to."""
        return int(self.socket.getsockname()[1])

    @property
    def url(self) -> str:
        """The base URL of the API (no trailing slash)."""
        host = self.socket.getsockname()[0]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    @property
    def started(self) -> bool:
        """Whether the server is accepting requests."""
        return bool(self._server.started)

    def run(self) -> None:
        """Serve until ``stop`` (or a signal, in the main thread); then close the socket."""
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self.socket.close()

    def stop(self) -> None:
        """Ask ``run`` to finish the requests in flight and return."""
        self._server.should_exit = True
