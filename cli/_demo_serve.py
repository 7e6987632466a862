"""The demo's served part (SPEC 16): after the offline story, the log runs as ``lic serve``
with an auditing witness (``lic witness serve --follow``), both as child processes on
loopback; parties without the ledger file submit entries over HTTP, an auditor follows the
log, and a revocation submitted there turns an online verification into DENY while the
offline bundle alone still permits.

The log serves ``served.db``, a copy of the finished ledger, and the witness keeps its state
in ``served-witness.db``, a copy of its own: the audit and the report above stay as printed,
and the demo's ledger and witness keep the state the offline story left."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import lic
from keys import LicError, MalformedError, SigningKey
from ledger.bundle import TrustPolicy, verify_bundle
from ledger.entries import commitment, grant_payload, make_entry, verify_receipt
from ledger.follow import bundle_from_log, follow_log
from ledger.tlog import Ed25519NoteVerifier

from ._demo_model import Story
from ._logopts import LogOptions
from ._submit import Submitted, submit_entry

__all__ = ["Served", "log_argv", "served_story", "witness_argv"]

START_TIMEOUT = 30.0  # seconds a child process has to print its listening line
STOP_TIMEOUT = 20.0  # seconds it has to stop after SIGTERM before it is killed
CHECKPOINT_INTERVAL = 1


@dataclass(frozen=True)
class Served:
    """What the served part did: the log's URL, the index of the licensee's submitted grant
    (its receipt in ``receipt``), the revocation's index, and the online effect."""

    url: str
    grant_index: int
    receipt: Path
    revoke_index: int
    online_effect: str
    offline_effect: str


class _Child:
    """A ``lic`` child process that prints 'listening on URL' first; stopped by ``stop``."""

    def __init__(self, name: str, args: list[str], home: Path, cwd: Path) -> None:
        self.name = name
        self.err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "cli.main", *args],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self.err,
                env={**os.environ, "LIC_HOME": str(home)},
            )
        except OSError as e:
            self.err.close()
            raise LicError(f"demo: cannot start {name}: {e}") from None
        self.url = ""

    def wait_listening(self) -> str:
        """The URL it listens on; LicError (one line) when it exits or stays silent."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT)
        line = self.proc.stdout.readline().decode("utf-8", "replace") if ready else ""
        if not line.startswith("listening on http://"):
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(STOP_TIMEOUT)
            raise LicError(f"demo: {self.name} did not start: {self._why()}")
        self.url = line.split()[2]
        return self.url

    def wait_serving(self, path: str) -> None:
        """Wait until GET ``path`` answers 200: 'lic serve' prints its line once its socket is
        bound, before it accepts connections."""
        import urllib.request

        deadline = time.monotonic() + START_TIMEOUT
        while self.proc.poll() is None and time.monotonic() < deadline:
            req = self.url + path
            with contextlib.suppress(OSError), urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
                if resp.status == 200:
                    return
            time.sleep(0.05)
        raise LicError(f"demo: {self.name} does not answer at {self.url}: {self._why()}")

    def _why(self) -> str:
        self.err.seek(0)
        lines = [x for x in self.err.read().decode("utf-8", "replace").splitlines() if x]
        code = self.proc.poll()
        last = lines[-1].strip() if lines else "no output"
        return last if code is None else f"{last} (exit {code})"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped in time; always reaped."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.err.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def log_argv(port: int, witness_port: int) -> list[str]:
    """``lic serve`` on ``served.db`` with the log key, asking the witness to cosign."""
    return [
        "serve", "--db", "served.db", "--listen", f"127.0.0.1:{port}", "--log-key", "log",
        "--checkpoint-interval", str(CHECKPOINT_INTERVAL),
        "--witness", f"http://127.0.0.1:{witness_port}", "--witness-key", "witness.vkey",
    ]  # fmt: skip


def witness_argv(witness_port: int, log_url: str) -> list[str]:
    """``lic witness serve`` on ``served-witness.db``, auditing the log at ``log_url``."""
    return ["witness", "serve", "--db", "served-witness.db", "--port", str(witness_port),
            "--follow", log_url]  # fmt: skip


@contextlib.contextmanager
def _running(d: Story) -> Iterator[tuple[str, str]]:
    """The auditing witness, then the log, as child processes on free loopback ports (the
    URLs of both); both stopped with SIGTERM on the way out, whatever happens in between (the
    log first: it signs a last checkpoint and asks the witness to cosign it)."""
    shutil.copyfile(d.dir / "ledger.db", d.dir / "served.db")
    shutil.copyfile(d.dir / "witness.db", d.dir / "served-witness.db")
    port, wport = _free_port(), _free_port()
    home = d.dir / "keys"
    children: list[_Child] = []
    try:
        url = f"http://127.0.0.1:{port}"
        witness = _Child("lic witness serve", witness_argv(wport, url), home, d.dir)
        children.append(witness)
        wurl = witness.wait_listening()
        log = _Child("lic serve", log_argv(port, wport), home, d.dir)
        children.append(log)
        log.wait_listening()
        log.wait_serving("/checkpoint")
        yield log.url, wurl
    finally:
        for child in reversed(children):
            child.stop()


def _submit(
    url: str, entry_type: str, payload: dict[str, Any], author: SigningKey, *, wait: int = 10
) -> Submitted:
    return submit_entry(url, make_entry(entry_type, payload, author), wait=wait)


def served_story(
    d: Story, keys: dict[str, SigningKey], policy: TrustPolicy,
    sub: Callable[[SigningKey], str], use: Callable[[int], lic.Use], use_text: str,
) -> Served:  # fmt: skip
    """Run the served part in the demo directory (after the offline story): ``sub`` names a
    key as a token subject, ``use(now)`` is the permitted use and ``use_text`` its options."""
    with _running(d) as (url, wurl):
        d.step(
            "The log goes online",
            f"The log operator served a copy of the ledger (served.db) with 'lic serve' at {url}: "
            "it takes signed entries over HTTP, signs a checkpoint every second when the log "
            f"grew and asks an auditing witness ({wurl}, its own copy of the witness state) to "
            "cosign it; the witness cosigns only after following the log to that checkpoint "
            "and replaying its records. Both run until the demo stops them.",
            "cp ledger.db served.db && cp witness.db served-witness.db",
            "lic " + " ".join(witness_argv(_port(wurl), url)) + " &",
            "lic " + " ".join(log_argv(_port(url), _port(wurl))) + " &",
        )
        parent, child, grant = _licensed(d, keys, url, sub)
        bundle = _follow_and_bundle(d, url, parent, child, policy, use, use_text)
        return _revoke_online(d, keys, url, parent, bundle, policy, use, use_text, grant)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].rstrip("/"))


def _licensed(
    d: Story, keys: dict[str, SigningKey], url: str, sub: Callable[[SigningKey], str]
) -> tuple[bytes, bytes, Submitted]:
    """The issuer licenses the lab again and the lab sublicenses its contractor, both grants
    submitted over HTTP; the contractor's grant comes back with its cosigned receipt."""
    issuer, holder, contractor = keys["issuer"], keys["licensee"], keys["contractor"]
    now = int(time.time())
    text = (d.dir / "academic.toml").read_bytes()
    parent = lic.issue(lic.load_license(text), issuer, holder.public_key, iss=sub(issuer),
                       sub=sub(holder), now=now, lifetime=365 * 86400)  # fmt: skip
    d.write("licensee-2.jwt", parent + b"\n")
    tok = lic.verify_with_key(parent, issuer.public_key, now=now)
    alice = commitment((d.dir / "alice.salt").read_bytes(), tok.sub)
    gi = _submit(url, "grant", grant_payload(tok, alice, at=now), issuer, wait=0).index
    narrow = lic.load_license((d.dir / "contractor.toml").read_bytes())
    child = lic.delegate(parent, narrow, holder, contractor.public_key, sub=sub(contractor),
                         now=now)  # fmt: skip
    d.write("contractor-2.jwt", child + b"\n")
    ctok = lic.verify_with_key(child, holder.public_key, now=now)
    cg = grant_payload(ctok, commitment(b"demo contractor salt", ctok.sub), at=now)
    got = _submit(url, "grant", cg, holder)
    if got.receipt is None:
        raise LicError("demo: the log sent no receipt for the contractor's grant in time")
    receipt = d.write("contractor-2.proof", got.receipt)
    rc, cp = verify_receipt(receipt.read_bytes(), Ed25519NoteVerifier.from_vkey(_log_vkey(d)))
    if rc.index != got.index or "\u2014 witness.example " not in got.receipt:
        raise MalformedError("demo: the contractor's receipt is not the cosigned one")
    d.step(
        "Submitted over HTTP",
        "After the remediation the issuer licensed the lab again (licensee-2.jwt) and "
        f"submitted the grant to the running log (record {gi}); the lab, which has no access "
        "to the ledger file, sublicensed its contractor (contractor-2.jwt) and submitted that "
        f"grant too (record {got.index}). Its answer came back with a receipt at checkpoint "
        f"size {cp.size}, cosigned by the auditing witness (contractor-2.proof).",
        "lic token issue --key issuer --holder licensee.jwk --license academic.toml "
        "--out licensee-2.jwt",
        f"lic ledger grant licensee-2.jwt --key issuer --salt-file alice.salt --submit {url}",
        "lic token delegate --parent licensee-2.jwt --key licensee --holder contractor.jwk "
        "--license contractor.toml --out contractor-2.jwt",
        f"lic ledger grant contractor-2.jwt --key licensee --commitment {cg['licensee'].hex()} "
        f"--submit {url} -o contractor-2.proof",
        "lic ledger verify-proof contractor-2.proof --policy policy.json",
    )
    return parent, child, got


def _follow_and_bundle(
    d: Story, url: str, parent: bytes, child: bytes, policy: TrustPolicy,
    use: Callable[[int], lic.Use], use_text: str,
) -> bytes:  # fmt: skip
    """An auditor follows the log once; the contractor's bundle is made from the service and
    permits the use offline."""
    now = int(time.time())
    r = follow_log(url, d.dir / "auditor", now=now, log_vkey=_log_vkey(d))
    if not r.ok or r.status != "advanced":
        raise LicError(f"demo: the auditor's follow did not advance cleanly: {r.status}")
    d.step(
        "An auditor follows the log",
        f"An auditor pinned the log key and followed the log: it verified the checkpoint of "
        f"size {r.size}, fetched {len(r.fetched)} tiles and entry bundles, replayed all "
        f"{r.records} records with the audit's checks and found the log's revoked-set line "
        f"({r.revoked} revoked) true. Its state (auditor/) lets the next run fetch only what "
        "is new.",
        f"lic ledger follow {url} --state auditor --log-key log.vkey --once",
    )
    bundle = bundle_from_log(url, [parent, child], log_vkey=_log_vkey(d), now=now)
    d.write("contractor-2.bundle", bundle)
    res = verify_bundle(bundle, policy, now=int(time.time()), use=use(int(time.time())))
    if res.effect != "permit":
        raise MalformedError(f"demo: the served bundle did not permit the use: {res.effect}")
    d.step(
        "Bundle from the service",
        "The lab made the contractor's bundle from the running log (tiles and entry bundles "
        "only, no ledger file): offline it PERMITS running the model for academic research.",
        f"lic bundle create contractor-2.jwt --chain licensee-2.jwt --log {url} "
        "--log-key log.vkey --out contractor-2.bundle",
        f"lic verify --bundle contractor-2.bundle --policy policy.json {use_text}",
    )
    return bundle


def _revoke_online(
    d: Story, keys: dict[str, SigningKey], url: str, parent: bytes, bundle: bytes,
    policy: TrustPolicy, use: Callable[[int], lic.Use], use_text: str, grant: Submitted,
) -> Served:  # fmt: skip
    """The issuer submits a revocation; ``lic verify --log`` finds it, the bundle alone not."""
    now = int(time.time())
    rev = {"at": now, "effective": now, "cascade": True, "tokens": [lic.token_digest(parent)],
           "reason": "prohibited_use"}  # fmt: skip
    got = _submit(url, "revoke", rev, keys["issuer"])
    if got.receipt is None:
        raise LicError("demo: the log sent no receipt for the revocation in time")
    now = int(time.time())
    offline = verify_bundle(bundle, policy, now=now, use=use(now))
    effect, _, lines = LogOptions(url, None, None).verify(bundle, policy, offline, now=now,
                                                          use=use(now))  # fmt: skip
    if offline.effect != "permit" or effect != "deny":
        raise MalformedError(
            f"demo: online {effect}, offline {offline.effect}: not the revocation's effect"
        )
    d.step(
        "Revoked online",
        f"The contractor hosted the model again; the issuer submitted the revocation of "
        f"licensee-2.jwt and everything below it (record {got.index}). Offline, "
        "contractor-2.bundle still PERMITS: it cannot know. Verified with the running log, the "
        "verifier followed it to the latest checkpoint and checked the revoked-set proofs: "
        f"{effect.upper()} ({lines[1].strip()}).",
        "lic ledger revoke --token licensee-2.jwt --reason prohibited_use --key issuer "
        f"--submit {url}",
        f"lic verify --bundle contractor-2.bundle --policy policy.json {use_text}",
        f"lic verify --bundle contractor-2.bundle --policy policy.json {use_text} "
        f"--log {url}   # exits 1: DENY (revoked)",
    )
    return Served(url, grant.index, d.dir / "contractor-2.proof", got.index, effect,
                  offline.effect)  # fmt: skip


def _log_vkey(d: Story) -> str:
    return (d.dir / "log.vkey").read_text().strip()
