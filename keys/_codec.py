"""Strict base64 and JSON codecs for outside input. Pure; no I/O."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from .errors import MalformedError

_B64URL = re.compile(rb"\A[A-Za-z0-9_-]*\Z")
_B64STD = re.compile(rb"\A(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")

MAX_JSON_DEPTH = 32


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes, what: str = "base64url") -> bytes:
    """Decode unpadded base64url, refusing padding, other alphabets and non-canonical tails."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    if not _B64URL.match(raw) or len(raw) % 4 == 1:
        raise MalformedError(f"{what}: not unpadded base64url")
    try:
        out = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as e:
        raise MalformedError(f"{what}: not unpadded base64url") from e
    if base64.urlsafe_b64encode(out).rstrip(b"=") != raw:
        raise MalformedError(f"{what}: non-canonical base64url")
    return out


def b64std_encode(data: bytes) -> str:
    """Standard padded base64 (RFC 4648 section 4)."""
    return base64.b64encode(data).decode("ascii")


def b64std_decode(text: str | bytes, what: str = "base64") -> bytes:
    """Decode padded standard base64, refusing anything but its canonical form."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    if not _B64STD.match(raw):
        raise MalformedError(f"{what}: not canonical base64")
    try:
        out = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as e:
        raise MalformedError(f"{what}: not canonical base64") from e
    if base64.b64encode(out) != raw:
        raise MalformedError(f"{what}: non-canonical base64")
    return out


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # some name came twice: name the first one repeated
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise MalformedError(f"duplicate JSON member name {k!r}")
            seen.add(k)
    return out


def _no_constant(name: str) -> Any:
    raise MalformedError(f"JSON constant {name} is not allowed")


# One decoder, built once: json.loads builds a new JSONDecoder on every call given hooks.
_STRICT_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def _depth(value: Any, limit: int) -> None:
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            items: Any = v.values()
        elif isinstance(v, list):
            items = v
        else:
            continue
        if d > limit:
            raise MalformedError(f"JSON nested deeper than {limit}")
        stack.extend((x, d + 1) for x in items)


# A lone surrogate can reach a str only through a \uD800-\uDFFF escape (json joins a valid
# pair into one code point) or through str input that already holds one; a match only says
# "look closer" (an escaped backslash before "ud800" matches too).
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def _no_lone_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            texts: Any = (v,)
        elif isinstance(v, dict):
            texts = v.keys()
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
            continue
        else:
            continue
        for t in texts:
            try:
                t.encode("utf-8")
            except UnicodeEncodeError as e:
                raise MalformedError("a string holds a lone surrogate (not Unicode text)") from e


def json_loads_strict(
    data: bytes | str, *, max_size: int, what: str = "JSON", max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """Parse JSON; refuse duplicate member names, NaN/Infinity, bad UTF-8, lone surrogates
    (``\\ud800``: no string read here may fail to encode later), excess size/depth."""
    if len(data) > max_size:
        raise MalformedError(f"{what}: larger than {max_size} bytes")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedError(f"{what}: not UTF-8") from e
    try:
        value = _STRICT_DECODER.decode(data)
    except MalformedError as e:
        raise MalformedError(f"{what}: {e}") from e
    except (ValueError, RecursionError) as e:
        raise MalformedError(f"{what}: not valid JSON ({e})") from e
    if _MAYBE_SURROGATE.search(data):
        try:
            _no_lone_surrogates(value)
        except MalformedError as e:
            raise MalformedError(f"{what}: {e}") from e
    # Nesting depth is at most the number of opening brackets, so the walk is needed only
    # when the text has more of them than the limit (brackets inside strings count too: the
    # bound stays safe, the walk then decides).
    if data.count("{") + data.count("[") > max_depth:
        try:
            _depth(value, max_depth)
        except MalformedError as e:
            raise MalformedError(f"{what}: {e}") from e
    return value


def json_dumps_canonical(value: Any) -> bytes:
    """Compact JSON with sorted member names, UTF-8 (used for thumbprints and stable output)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
