"""Hints for common mistakes, found by a file's content: a sublicense verified without its
chain, a trust policy given where a trust store is expected (and the reverse), a license token
given as a bundle. A hint is appended to the error it explains (``...; hint: ...``), so the
error stays one line (or one JSON ``error``); a file that looks like nothing known gets none."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from keys import TRUST_STORE_FORMAT, LicError

__all__ = ["file_kind", "hinted", "sublicense_hint", "with_hint"]

_JWS = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_BUNDLE_MAGIC = b"lic-bundle/v1\n"
_POLICY_FORMAT = "lic-policy/v1"  # SPEC 10.3; ledger.bundle is not loaded for a token command
_SNIFF_LIMIT = 4 * 1024 * 1024  # larger than any bundle, policy or trust store


def file_kind(data: bytes) -> str | None:
    """What ``data`` looks like: "bundle", "token" (JWS compact or COSE_Sign1), "trust
    policy", "trust store" or None (nothing known)."""
    if data.startswith(_BUNDLE_MAGIC):
        return "bundle"
    if data[:1] == b"\xd2" or _JWS.fullmatch(data.strip()):
        return "token"
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    return {_POLICY_FORMAT: "trust policy", TRUST_STORE_FORMAT: "trust store"}.get(str(fmt))


def _is_sublicense(token: bytes) -> bool:
    import lic  # only on an error's path: the keys commands do not load the token codecs

    try:
        return lic.decode_unverified(token).license.parent is not None
    except LicError:
        return False


def sublicense_hint(first_token: bytes, command: str) -> str | None:
    """The hint when a chain given to ``command`` starts at a sublicense, else None."""
    if not _is_sublicense(first_token):
        return None
    return f"a sublicense verifies with its chain, root first: {command} PARENT CHILD"


def _mistake(path: Path, expected: str) -> str | None:
    """The hint when the file at ``path`` is of a known kind other than ``expected``."""
    try:
        if str(path) == "-" or not path.is_file() or path.stat().st_size > _SNIFF_LIMIT:
            return None
        data = path.read_bytes()
    except OSError:  # unreadable: the error being explained says so already
        return None
    kind = file_kind(data)
    if kind is None or kind == expected:
        return None
    head = f"{path} is a {'license token' if kind == 'token' else kind}, not a {expected}"
    if kind == "trust policy" and expected == "trust store":
        return (
            f"{head}: --trust takes a trust store (lic trust add); a policy goes to "
            "lic verify --policy"
        )
    if kind == "trust store" and expected == "trust policy":
        return f"{head}: make a policy from it with lic policy create --trust {path}"
    if kind == "token" and expected == "bundle":
        chain = " --chain PARENT" if _is_sublicense(data.strip()) else ""
        return f"{head}: make a bundle with lic bundle create {path}{chain} --db LEDGER"
    return head


def with_hint(e: LicError, hint: str | None) -> LicError:
    """``e`` with the hint appended to its message (same type, same exit code)."""
    return e if hint is None else type(e)(f"{e}; hint: {hint}")


@contextmanager
def hinted(path: Path | None, expected: str) -> Iterator[None]:
    """Re-raise an error from reading ``path`` as ``expected`` (e.g. "trust store") with a
    hint when the file's content shows it is another known kind."""
    try:
        yield
    except LicError as e:
        if path is None:
            raise
        hinted_error = with_hint(e, _mistake(path, expected))
        if hinted_error is e:
            raise
        raise hinted_error from e
