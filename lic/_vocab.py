"""The code lists of the license vocabulary (shipped as lic/data/*.json) and code syntax.

Codes are hierarchical, dot-separated, lowercase: ``surveillance.biometric.realtime`` lies under
``surveillance.biometric`` and ``surveillance``. Custom codes start with ``x-`` and are accepted
without being listed. Regions are ISO 3166-1 alpha-2 country codes or named groups (``EU``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from keys.errors import MalformedError

__all__ = [
    "CODE_LISTS",
    "PURPOSE_LISTS",
    "ancestors",
    "check_code",
    "check_code_syntax",
    "check_region",
    "check_use_code",
    "countries",
    "duty_params",
    "expand_regions",
    "normalize_region",
    "region_groups",
    "vocabulary",
]

# Name of a code list (as used in errors and SPEC.md) -> data file.
CODE_LISTS: Mapping[str, str] = {
    "actions": "actions.json",
    "purposes": "purposes.json",
    "prohibited_uses": "prohibited_uses.json",
    "data_categories": "data_categories.json",
    "channels": "channels.json",
    "platforms": "platforms.json",
    "tiers": "tiers.json",
    "duties": "duties.json",
}

# The code lists a purpose may come from: purposes proper and the prohibited-use taxonomy.
PURPOSE_LISTS = ("purposes", "prohibited_uses")

_SEG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_CODE = re.compile(rf"\A(?:x-)?{_SEG}(?:\.{_SEG})*\Z")
_COUNTRY = re.compile(r"\A[A-Z]{2}\Z")
_GROUP = re.compile(r"\A[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*\Z")
MAX_CODE_LEN = 128
# The code lists ship as plain files beside this module (package data); read directly, since
# importlib.resources costs more at start-up than every code list together.
_DATA = Path(__file__).with_name("data")


def _load(name: str) -> dict[str, Any]:
    text = (_DATA / name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def vocabulary(kind: str) -> frozenset[str]:
    """Every listed code of one code list (see ``CODE_LISTS``)."""
    return frozenset(_load(CODE_LISTS[kind])["codes"])


@cache
def duty_params(code: str) -> Mapping[str, str]:
    """Parameter names of a listed duty and how a sublicense may change each (max/min/same)."""
    params: dict[str, str] = _load("duties.json")["codes"][code]["params"]
    return params


@cache
def countries() -> frozenset[str]:
    """All officially assigned ISO 3166-1 alpha-2 codes."""
    return frozenset(_load("regions.json")["countries"])


@cache
def region_groups() -> Mapping[str, frozenset[str]]:
    """Named region groups (such as ``EU``) and the ISO 3166-1 alpha-2 codes each holds."""
    groups = _load("regions.json")["groups"]
    return {name: frozenset(members) for name, members in groups.items()}


def check_code_syntax(code: object, what: str) -> str:
    if not isinstance(code, str) or len(code) > MAX_CODE_LEN or not _CODE.match(code):
        raise MalformedError(f"{what}: {code!r} is not a code (lowercase dot-separated words)")
    return code


def check_code(code: object, kind: str, what: str) -> str:
    """Syntax, and membership in the code list ``kind`` unless the code is custom (``x-``)."""
    return check_use_code(code, (kind,), what)


def check_use_code(code: object, kinds: tuple[str, ...], what: str) -> str:
    """Syntax, and membership in one of the code lists ``kinds`` unless the code is custom
    (``x-``). An unknown code is refused with the list of the known ones."""
    if type(code) is str and code in _listed(kinds):  # listed codes are well-formed
        return code
    code = check_code_syntax(code, what)
    if code.startswith("x-"):
        return code
    known = sorted(_listed(kinds))
    raise MalformedError(
        f"{what}: unknown code {code!r} (known: {', '.join(known)}; custom codes start with 'x-')"
    )


@cache
def _listed(kinds: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(*(vocabulary(kind) for kind in kinds))


def _known_regions(groups: bool) -> str:
    listed = sorted(region_groups()) if groups else []
    return "known: " + ", ".join([*listed, *sorted(countries())])


def check_region(code: object, what: str, *, known: bool) -> str:
    """A country code or a group name; with ``known``, it must be listed, and lower case is
    read as upper case (``de`` is ``DE``)."""
    if known and isinstance(code, str):
        code = code.upper()
    if not isinstance(code, str) or len(code) > 32 or not _GROUP.match(code):
        raise MalformedError(f"{what}: {code!r} is not a region (ISO 3166-1 alpha-2 or group)")
    if known and code not in countries() and code not in region_groups():
        raise MalformedError(f"{what}: unknown region {code!r} ({_known_regions(True)})")
    return code


def normalize_region(code: object, what: str, *, groups: bool = True) -> str:
    """A listed region code, read case-insensitively and returned in upper case: an ISO 3166-1
    alpha-2 country, or (with ``groups``) a region group such as ``EU``. Anything else is
    refused with the list of the known codes."""
    if type(code) is str and code in countries():
        return code
    if isinstance(code, str) and len(code) <= 32:
        up = str.upper(code)
        if up in countries() or (groups and up in region_groups()):
            return up
    kind = "ISO 3166-1 alpha-2 country or region group" if groups else "ISO 3166-1 alpha-2 country"
    raise MalformedError(f"{what}: {code!r} is not a known {kind} ({_known_regions(groups)})")


def expand_regions(codes: Iterable[str]) -> frozenset[str]:
    """Countries named by ``codes``; a group stands for its members, an unknown code for itself."""
    groups = region_groups()
    out: set[str] = set()
    for code in codes:
        out |= groups.get(code, frozenset((code,)))
    return frozenset(out)


_ANCESTORS: dict[str, frozenset[str]] = {}
_ANCESTORS_CAP = 8192


def ancestors(code: str) -> frozenset[str]:
    """The code and every code above it: ``a.b.c`` -> {a, a.b, a.b.c}."""
    got = _ANCESTORS.get(code)
    if got is not None:
        return got
    parts = code.split(".")
    result = frozenset(".".join(parts[: i + 1]) for i in range(len(parts)))
    if len(_ANCESTORS) < _ANCESTORS_CAP:
        _ANCESTORS[code] = result
    return result


def is_country(code: str) -> bool:
    return bool(_COUNTRY.match(code))
