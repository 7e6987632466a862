"""``--log URL``: `lic bundle create` and `lic verify` read the log from the service (SPEC
16.7) instead of a ledger file or a held checkpoint. One set of options (the URL, the log key
a bundle is made under, a follower state to keep between runs) and the two calls."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._decision import decision_lines
from ._params import read_vkey

if TYPE_CHECKING:
    import lic
    from ledger.bundle import BundleResult, TrustPolicy

__all__ = ["LogOptions", "log_options"]


@dataclass(frozen=True)
class LogOptions:
    """What --log, --log-key and --log-state said (``url`` None: not given)."""

    url: str | None
    log_key: str | None
    state: Path | None

    def bundle(self, tokens: Sequence[bytes]) -> bytes:
        """A bundle for ``tokens`` (root first) made from the service."""
        from ledger.follow import bundle_from_log

        assert self.url is not None
        if self.log_key is None:
            raise click.UsageError("--log needs --log-key VKEY (the log key to follow it under)")
        vkey = read_vkey(self.log_key, "log key")
        return bundle_from_log(self.url, tokens, log_vkey=vkey, now=int(time.time()),
                               state_dir=self.state)  # fmt: skip

    def verify(
        self,
        bundle: bytes,
        policy: TrustPolicy,
        offline: BundleResult,
        *,
        now: int,
        use: lic.Use | None,
    ) -> tuple[str, dict[str, Any], list[str]]:
        """The bundle's checks against the log's latest checkpoint as well (SPEC 10.6 with the
        note and update fetched): the effect, the JSON answer and the lines for people. A
        bundle that held offline but whose link is revoked now is a deny."""
        from ledger.bundle import verify_bundle
        from ledger.follow import online_update

        assert self.url is not None
        online = online_update(self.url, bundle, policy, now=now, state_dir=self.state)
        result = verify_bundle(bundle, policy, now=now, use=use, held_checkpoint=online.note,
                               update=online.update)  # fmt: skip
        effect, reason = result.effect, result.reason
        revoked_since = offline.ok and reason == "revoked"
        if revoked_since:
            effect = "deny"
        links = [
            {"digest": d.hex(), "status": s.status, "records": list(s.evidence)}
            for d, s in zip(result.digests, online.statuses, strict=True)
        ]
        out = {
            "at": now,
            **result.to_dict(),
            "effect": effect,
            "offline_effect": offline.effect,
            "online": {
                "url": self.url,
                "size": online.followed.size,
                "checkpoint": online.note.decode("utf-8", "replace"),
                "links": links,
            },
        }
        lines = [effect.upper() + (f" ({reason})" if reason else "")]
        if revoked_since:
            lines.append(
                f"  offline the bundle gave {offline.effect.upper()}; the log revoked it since"
            )
        lines += [f"  {c.status:4s}  {c.name:19s} {c.detail}" for c in result.checks]
        lines.append(f"online: {self.url} at size {online.followed.size}")
        for link in links:
            records = ", ".join(map(str, link["records"])) or "none"
            lines.append(f"  {link['digest'][:16]}... {link['status']} (records: {records})")
        if result.decision is not None:
            lines += decision_lines(result.decision)
        return effect, out, lines


_OPTIONS = [
    click.option(
        "--log",
        "log_url",
        metavar="URL",
        help="Read the log from this service (lic serve, or static tiles) instead.",
    ),
    click.option(
        "--log-key",
        "log_key",
        metavar="VKEY",
        help="With --log (bundle create): the log's verifier key, inline or a file.",
    ),
    click.option(
        "--log-state",
        "log_state",
        type=click.Path(file_okay=False, path_type=Path),
        help="With --log: a follower state directory to keep between runs (default: a "
        "temporary one, so the whole log is replayed).",
    ),
]


def log_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add --log, --log-key and --log-state; the command gets them as one ``log: LogOptions``."""

    @functools.wraps(f)
    def wrapper(
        *args: Any, log_url: str | None, log_key: str | None, log_state: Path | None, **kw: Any
    ) -> Any:
        if log_url is None and (log_key is not None or log_state is not None):
            raise click.UsageError("--log-key and --log-state need --log URL")
        return f(*args, log=LogOptions(log_url, log_key, log_state), **kw)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
