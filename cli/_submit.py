"""``--submit URL``: POST an entry signed here to a running ``lic serve --log-key`` (SPEC
16.5) instead of appending to a ledger file. An HTTP client with a connect and read timeout
and a cap on the answer's size; every failure is one line (an unreachable server, a 4xx with
the server's finding, a 5xx)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click

from keys.errors import DeniedError, LicError, MalformedError

__all__ = ["SUBMIT_WAIT", "Submitted", "submit_entry", "submit_option"]

SUBMIT_WAIT = 10  # seconds the server is asked to wait for a checkpoint covering the entry
_TIMEOUT = SUBMIT_WAIT + 20.0
_MAX_ANSWER = 4 * 1024 * 1024  # a receipt is at most 2 MiB + 64 KiB, and JSON escapes it
_MEDIA_TYPE = 'application/cose; cose-type="cose-sign1"'

submit_option = click.option(
    "--submit",
    "submit_url",
    metavar="URL",
    help="POST the signed entry to this 'lic serve' (no --db needed); prints its index.",
)


@dataclass(frozen=True, slots=True)
class Submitted:
    """The log's answer: the entry's index and leaf hash, and its receipt when a checkpoint
    covered it in time (else the URL to poll)."""

    index: int
    leaf_hash: str
    receipt: str | None
    receipt_url: str


def _base(url: str) -> str:
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise click.UsageError(f"--submit: {url!r} is not an http(s)://HOST[:PORT][/PREFIX] URL")
    return url.rstrip("/")


def _detail(body: bytes) -> str:
    try:
        obj = json.loads(body)
    except ValueError:
        obj = None
    if isinstance(obj, dict) and isinstance(obj.get("detail"), str):
        return str(obj["detail"])
    return body.decode("utf-8", "replace").strip()[:300] or "(no detail)"


def _failure(status: int, body: bytes, where: str) -> LicError:
    detail = _detail(body)
    if status == 422:
        return DeniedError(f"submit: {where} refused the entry: {detail}")
    if 400 <= status < 500:
        return MalformedError(f"submit: {where} answered {status}: {detail}")
    return LicError(f"submit: {where} answered {status}: {detail}")


def _read(resp: Any) -> bytes:
    data: bytes = resp.read(_MAX_ANSWER + 1)
    if len(data) > _MAX_ANSWER:
        raise LicError(f"submit: the answer is larger than {_MAX_ANSWER} bytes")
    return data


def _answer(data: bytes, where: str) -> Submitted:
    try:
        obj = json.loads(data)
        index, leaf = obj["index"], obj["leaf_hash"]
        receipt, url = obj.get("receipt"), obj["receipt_url"]
    except (ValueError, KeyError, TypeError):
        raise LicError(f"submit: {where} sent an answer that is not the log's") from None
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise LicError(f"submit: {where} sent no index")
    if not isinstance(leaf, str) or not isinstance(url, str):
        raise LicError(f"submit: {where} sent an answer that is not the log's")
    if receipt is not None and not isinstance(receipt, str):
        raise LicError(f"submit: {where} sent a receipt that is not text")
    return Submitted(index, leaf, receipt, url)


def submit_entry(url: str, entry: bytes, *, wait: int = SUBMIT_WAIT) -> Submitted:
    """POST ``entry`` (a COSE_Sign1) to the log at ``url`` and return its answer; LicError
    (DeniedError for a refusal, MalformedError for another 4xx) otherwise."""
    import urllib.error  # the HTTP client: only when submitting
    import urllib.request

    base = _base(url)
    where = base
    req = urllib.request.Request(  # noqa: S310  (scheme checked in _base)
        f"{base}/entries?wait={wait}",
        data=entry,
        method="POST",
        headers={"Content-Type": _MEDIA_TYPE, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=_TIMEOUT) as resp:  # noqa: S310
            return _answer(_read(resp), where)
    except urllib.error.HTTPError as e:
        with e:
            raise _failure(e.code, _read(e), where) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise LicError(f"submit: cannot reach {where}: {reason}") from None
