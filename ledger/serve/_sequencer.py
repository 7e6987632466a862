"""The write side's sequencer (SPEC 16.5): one writer thread owns the ledger's read-write
handle and its derived state. It takes every submission waiting in a bounded queue (up to a
batch bound), commits the ones the state accepts in one transaction and one fsync
(``ledger.store.append_signed_batch``), and only then answers each submitter; between
batches it signs a checkpoint on schedule when the size advanced. A second thread asks the
configured witnesses to cosign each new checkpoint, so that a slow witness never holds up
the writer; a checkpoint counts as published (receipts are made from it) once that round
ended.

Submitters live on an asyncio loop: ``submit`` returns a future that the writer resolves
with the entry's ``Appended`` or ``Refused`` (or an exception when storage failed), and
``wait_covered`` waits for a published checkpoint covering an index.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keys import SigningKey
from keys.errors import LicError, MalformedError

from ..store import Appended, Ledger, Refused, SignedEntry, append_signed_batch
from ..tlog import CosignatureV1Verifier
from ._storage import location_of, storage_errors

__all__ = ["READ_TIMEOUT", "QueueFullError", "Sequencer", "WriteOptions"]

READ_TIMEOUT = 10.0  # default seconds a client has to send a whole submission

Outcome = Appended | Refused


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """How the log takes writes: the log key that signs checkpoints, the checkpoint schedule
    (seconds), the witnesses asked to cosign (their submission prefixes, the keys whose
    cosignatures are kept, the quorum reported), and the bounds of the submission queue and
    of one group commit, and the seconds a client has to send a whole submission."""

    log_key: SigningKey
    checkpoint_interval: float = 1.0
    witness_urls: tuple[str, ...] = ()
    witness_keys: tuple[CosignatureV1Verifier, ...] = ()
    quorum: int | None = None
    max_queue: int = 4096
    max_batch: int = 512
    read_timeout: float = READ_TIMEOUT

    def __post_init__(self) -> None:
        if not 0.01 <= self.checkpoint_interval <= 86400:
            raise MalformedError("checkpoint interval: between 0.01 and 86400 seconds")
        if bool(self.witness_urls) != bool(self.witness_keys):
            raise MalformedError("witnesses: give witness URLs and witness keys together")
        if not 0 < self.read_timeout <= 600:
            raise MalformedError("read timeout: more than 0 and at most 600 seconds")
        if self.max_queue < 1 or self.max_batch < 1:
            raise MalformedError("queue and batch bounds must be positive")


class QueueFullError(Exception):
    """The submission queue is full: the client should retry later (503, Retry-After)."""


@dataclass(slots=True)
class _Job:
    entry: SignedEntry
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Outcome]


def _resolve(fut: asyncio.Future[Outcome], value: Outcome | BaseException) -> None:
    if fut.done():  # the submitter went away (cancelled): nothing to tell
        return
    if isinstance(value, BaseException):
        fut.set_exception(value)
    else:
        fut.set_result(value)


def _resolve_all(answers: list[tuple[Any, Any]]) -> None:
    for fut, value in answers:
        _resolve(fut, value)


class Sequencer:
    """The writer and cosigner threads of a log server over the ledger ``db`` (a file or a
    ``postgresql://`` URL). Several servers may sequence into one PostgreSQL ledger: each
    batch and each checkpoint takes the store's write lock, and reads the size, the tree's
    right edge and the state under it, so another server's commits are never overwritten,
    and a checkpoint is signed only for the tree the ledger holds (the compare-and-swap of
    ``Ledger.checkpoint``); one that loses is reported and retried at the next tick."""

    def __init__(self, db: str | os.PathLike[str], options: WriteOptions) -> None:
        self.db = location_of(db)
        self.options = options
        self._queue: queue.Queue[_Job] = queue.Queue(options.max_queue)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._published = 0  # size of the latest checkpoint receipts may be made from
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[int]]] = []
        self._to_cosign: queue.Queue[int | None] = queue.Queue()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._closed = False  # set by the writer when it takes no more entries
        self._threads: list[threading.Thread] = []
        self._led: Ledger  # the writer thread's read-write handle, opened by that thread
        with Ledger.open(self.db) as led:  # refuse another log's key now, not in a thread
            if led.log_verifier.public_key != options.log_key.public_key:
                raise MalformedError("serve: --log-key is not this ledger's log key")

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, timeout: float = 600.0) -> None:
        """Start the threads and wait until the writer has read the ledger's state."""
        writer = threading.Thread(target=self._writer, name="lic-writer", daemon=True)
        self._threads.append(writer)
        if self.options.witness_urls:
            cosigner = threading.Thread(target=self._cosigner, name="lic-cosigner", daemon=True)
            self._threads.append(cosigner)
        for t in self._threads:
            t.start()
        if not self._ready.wait(timeout):
            raise MalformedError("serve: the writer did not start in time")
        if self._failed is not None:
            raise self._failed

    def stop(self) -> None:
        """Commit what is queued, sign a last checkpoint, stop the threads."""
        self._stop.set()
        for t in self._threads:
            t.join()
        self._threads.clear()

    @property
    def published(self) -> int:
        """The size of the latest checkpoint receipts are made from (cosigning round over)."""
        return self._published

    # -- submitters (asyncio side) ----------------------------------------------------------
    def submit(self, entry: SignedEntry) -> asyncio.Future[Outcome]:
        """Queue ``entry`` for the next group commit; QueueFullError when the queue is full."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Outcome] = loop.create_future()
        with self._lock:  # (the writer closes the queue under it: no entry is left behind)
            if self._closed or self._stop.is_set():
                raise QueueFullError("the log is not taking entries now")
            try:
                self._queue.put_nowait(_Job(entry, loop, fut))
            except queue.Full:
                raise QueueFullError("the submission queue is full") from None
        return fut

    async def wait_covered(self, index: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a published checkpoint covering ``index``."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        with self._lock:
            if self._published > index:
                return True
            self._waiters.append((index, loop, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters = [w for w in self._waiters if w[2] is not fut]
        return True

    def _publish(self, size: int) -> None:
        with self._lock:
            if size <= self._published:
                return
            self._published = size
            due = [w for w in self._waiters if w[0] < size]
        for _, loop, fut in due:
            with contextlib.suppress(RuntimeError):  # a loop that closed meanwhile
                loop.call_soon_threadsafe(_resolve_covered, fut, size)

    # -- the writer thread ------------------------------------------------------------------
    def _writer(self) -> None:
        try:
            self._led = Ledger.open(self.db)
        except BaseException as e:
            self._fail_start(e)
            return
        try:
            try:
                self._led.state_at(self._led.size)  # the replay happens before the first request
                signed = self._checkpoint(self._led)
            except BaseException as e:
                self._fail_start(e)
                return
            self._ready.set()
            self._write_loop(signed)
        finally:
            self._led.close()

    def _reopen(self) -> None:
        """After a storage failure: the writer's handle is replaced by a new one (a PostgreSQL
        connection may have broken), or kept when the store cannot be opened now (the next
        failure tries again)."""
        try:
            new = Ledger.open(self.db)
        except Exception:
            return
        with contextlib.suppress(Exception):
            self._led.close()
        self._led = new

    def _fail_start(self, e: BaseException) -> None:
        self._failed = e
        with self._lock:
            self._closed = True
        self._to_cosign.put(None)  # the cosigner ends too
        self._ready.set()

    def _write_loop(self, signed: int) -> None:
        interval = self.options.checkpoint_interval
        due = time.monotonic() + interval
        try:
            while True:
                stopping = self._stop.is_set()
                wait = 0.0 if stopping else max(0.0, min(due - time.monotonic(), 0.2))
                jobs = self._take(wait)
                if jobs:
                    self._commit(jobs)
                    if stopping:
                        continue  # drain the queue before the last checkpoint
                if stopping:
                    self._checkpoint_logged(signed)
                    break
                if time.monotonic() >= due:
                    signed = self._checkpoint_logged(signed)
                    due = time.monotonic() + interval
        except BaseException as e:  # a bug, not a refusal: say so, and take no more entries
            self._failed = e
            self._stop.set()
            print(f"lic serve: the writer stopped: {e!r}", file=sys.stderr, flush=True)
        finally:
            self._to_cosign.put(None)
            with self._lock:
                self._closed = True
            # a submission that came in after the last drain is told to retry, not left waiting
            while late := self._take(0.0):
                for job in late:
                    with contextlib.suppress(RuntimeError):
                        err = QueueFullError("the log is not taking entries now")
                        job.loop.call_soon_threadsafe(_resolve, job.future, err)

    def _take(self, timeout: float) -> list[_Job]:
        try:
            first = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return []
        jobs = [first]
        while len(jobs) < self.options.max_batch:
            try:
                jobs.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return jobs

    def _commit(self, jobs: Sequence[_Job]) -> None:
        try:
            outcomes: Sequence[Outcome | BaseException] = append_signed_batch(
                self._led, [j.entry for j in jobs]
            )
        except Exception as e:  # storage failed: nothing was written, every submitter hears
            outcomes = [e] * len(jobs)
            if isinstance(e, storage_errors()):
                self._reopen()
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
        for j, o in zip(jobs, outcomes, strict=True):
            by_loop.setdefault(j.loop, []).append((j.future, o))
        for loop, answers in by_loop.items():  # one wake-up of each loop per batch
            with contextlib.suppress(RuntimeError):  # a loop that closed meanwhile
                loop.call_soon_threadsafe(_resolve_all, answers)

    def _checkpoint(self, led: Ledger) -> int:
        """Sign a checkpoint if the size advanced; hand it to the cosigner or publish it."""
        cp = led.checkpoint(self.options.log_key)
        size = cp.checkpoint.size
        if self.options.witness_urls:
            self._to_cosign.put(size)
        else:
            self._publish(size)
        return size

    def _checkpoint_logged(self, signed: int) -> int:
        """A checkpoint at the current size unless this writer signed that one already. The
        size may have advanced by another server's commits: the checkpoint then covers them
        (or is the one that server signed at that size), and publishes them here too. A
        checkpoint that loses a race (another writer held the lock past the wait, or moved
        the head first) or a store that fails is reported; the next tick tries again."""
        storage = storage_errors()
        retried: tuple[type[BaseException], ...] = (LicError, OSError, *storage)
        try:
            if self._led.size == signed:
                return signed
            return self._checkpoint(self._led)
        except retried as e:
            print(f"lic serve: checkpoint not signed: {e}", file=sys.stderr, flush=True)
            if isinstance(e, storage):
                self._reopen()
            return signed

    # -- the cosigner thread ----------------------------------------------------------------
    def _cosigner(self) -> None:
        from ..witness import collect_cosignatures  # the HTTP client: only with witnesses

        opts = self.options
        need = opts.quorum if opts.quorum is not None else len(opts.witness_keys)
        led: Ledger | None = None  # opened at the first checkpoint to cosign
        try:
            while True:
                size = self._to_cosign.get()
                while size is not None and not self._to_cosign.empty():
                    size = self._to_cosign.get_nowait()  # only the newest is worth asking
                if size is None:
                    return
                try:
                    if led is None:
                        led = Ledger.open(self.db)
                    got = collect_cosignatures(led, opts.witness_urls, opts.witness_keys, need)
                except Exception as e:  # a witness round must never end the cosigner
                    print(f"lic serve: cosigning failed: {e}", file=sys.stderr, flush=True)
                else:
                    if not got.met:
                        detail = "; ".join(f"{r.url}: {r.detail}" for r in got.reports if not r.ok)
                        print(
                            f"lic serve: checkpoint {got.size}: {len(got.cosigners)} of "
                            f"{got.quorum} cosignatures ({detail})",
                            file=sys.stderr,
                            flush=True,
                        )
                    size = max(size, got.size)
                self._publish(size)
        finally:
            if led is not None:
                led.close()


def _resolve_covered(fut: asyncio.Future[int], size: int) -> None:
    if not fut.done():
        fut.set_result(size)
