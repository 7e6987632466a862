"""A small declarative schema language for ledger entry payloads. Pure; no I/O.

A schema is a tree of ``Field`` objects; ``Field.problems(value, path)`` yields every way a
decoded CBOR value breaks it, as ``(path, message)`` pairs. Maps are closed: an unknown member is
a problem, so a record cannot smuggle fields past the validator.

``Field.ok(value)`` answers the same question as ``not any(problems(value))`` without building
paths or messages: the replay checks every record's payload, almost all of them valid, so it
asks ``ok`` first and ``problems`` only to explain a refusal. A test holds the two equal.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

Problem = tuple[str, str]
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # control characters other than \t and \n
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    got = _PATTERNS.get(pattern)
    if got is None:
        got = _PATTERNS[pattern] = re.compile(pattern)
    return got


INT64_MAX = 2**63 - 1


class Field(ABC):
    @abstractmethod
    def problems(self, value: Any, path: str) -> Iterator[Problem]:
        """Yield every way ``value`` breaks this field, as (path, message)."""

    @abstractmethod
    def ok(self, value: Any) -> bool:
        """True exactly when ``problems(value, ...)`` yields nothing."""


@dataclass(frozen=True)
class Int(Field):
    min: int = 0
    max: int = INT64_MAX

    def problems(self, value: Any, path: str) -> Iterator[Problem]:
        if not isinstance(value, int) or isinstance(value, bool):
            yield path, "must be an integer"
        elif not self.min <= value <= self.max:
            yield path, f"must be between {self.min} and {self.max}"

    def ok(self, value: Any) -> bool:
        return (
            isinstance(value, int) and not isinstance(value, bool) and self.min <= value <= self.max
        )


@dataclass(frozen=True)
class Bool(Field):
    def problems(self, value: Any, path: str) -> Iterator[Problem]:
        if not isinstance(value, bool):
            yield path, "must be true or false"

    def ok(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True)
class Text(Field):
    max: int = 256
    pattern: str | None = None
    min: int = 1

    def problems(self, value: Any, path: str) -> Iterator[Problem]:
        if not isinstance(value, str):
            yield path, "must be a text string"
        elif not self.min <= len(value) <= self.max:
            yield path, f"must be {self.min} to {self.max} characters"
        elif self.pattern is not None and not re.fullmatch(self.pattern, value):
            yield path, f"must match {self.pattern}"
        elif _CONTROL.search(value):
            yield path, "must not contain control characters"

    def ok(self, value: Any) -> bool:
        if not isinstance(value, str) or not self.min <= len(value) <= self.max:
            return False
        if self.pattern is not None and not _compiled(self.pattern).fullmatch(value):
            return False
        return _CONTROL.search(value) is None


@dataclass(frozen=True)
class Bytes(Field):
    size: int | None = None
    max: int = 4096

    def problems(self, value: Any, path: str) -> Iterator[Problem]:
        if not isinstance(value, bytes):
            yield path, "must be a byte string"
        elif self.size is not None and len(value) != self.size:
            yield path, f"must be exactly {self.size} bytes"
        elif len(value) > self.max:
            yield path, f"must be at most {self.max} bytes"

    def ok(self, value: Any) -> bool:
        if not isinstance(value, bytes):
            return False
        return len(value) == self.size if self.size is not None else len(value) <= self.max


DIGEST = Bytes(size=32)


@dataclass(frozen=True)
class Enum(Field):
    values: frozenset[str]
    custom: bool = False  # allow "x-" prefixed custom codes

    def problems(self, value: Any, path: str) -> Iterator[Problem]:
        if not isinstance(value, str):
            yield path, "must be a text code"
        elif value not in self.values and not (self.custom and _is_custom(value)):
            yield path, f"unknown code {value!r} (expected one of {', '.join(sorted(self.values))})"

    def ok(self, value: Any) -> bool:
        return isinstance(value, str) and (
            value in self.values or (self.custom and _is_custom(value))
        )


def _is_custom(code: str) -> bool:
    return re.fullmatch(r"x-[a-z0-9][a-z0-9.-]{0,62}", code) is not None


@dataclass(frozen=True)
class List(Field):
    item: Field
    min: int = 0
    max: int = 256
    unique: bool = False

    def problems(self, value: Any, path: str) -> Iterator[Problem]:
        if not isinstance(value, list):
            yield path, "must be an array"
            return
        if not self.min <= len(value) <= self.max:
            yield path, f"must hold {self.min} to {self.max} items"
        for i, x in enumerate(value):
            yield from self.item.problems(x, f"{path}[{i}]")
        if self.unique:
            seen = [repr(x) for x in value]
            if len(set(seen)) != len(seen):
                yield path, "items must be unique"

    def ok(self, value: Any) -> bool:
        if not isinstance(value, list) or not self.min <= len(value) <= self.max:
            return False
        item_ok = self.item.ok
        for x in value:
            if not item_ok(x):
                return False
        return not self.unique or len({repr(x) for x in value}) == len(value)


@dataclass(frozen=True)
class Opt:
    """Marks a map member as optional."""

    field: Field


Check = Callable[[Mapping[str, Any]], Iterator[Problem]]


@dataclass(frozen=True)
class Map(Field):
    fields: Mapping[str, Field | Opt]
    checks: tuple[Check, ...] = field(default=())

    def problems(self, value: Any, path: str) -> Iterator[Problem]:
        if not isinstance(value, dict):
            yield path, "must be a map"
            return
        prefix = f"{path}." if path else ""
        for name in value:
            if name not in self.fields:
                yield f"{prefix}{name}", "unknown member"
        ok = True
        for name, spec in self.fields.items():
            if name not in value:
                if not isinstance(spec, Opt):
                    ok = False
                    yield f"{prefix}{name}", "missing"
                continue
            inner = spec.field if isinstance(spec, Opt) else spec
            for p in inner.problems(value[name], f"{prefix}{name}"):
                ok = False
                yield p
        if ok:
            for check in self.checks:
                for sub, msg in check(value):
                    yield f"{prefix}{sub}", msg

    def ok(self, value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        keys = value.keys()
        if not keys <= self._names or not self._required <= keys:
            return False
        oks = self._oks
        for name, member in value.items():
            if not oks[name](member):
                return False
        for check in self.checks:
            for _ in check(value):
                return False
        return True

    @cached_property
    def _oks(self) -> dict[str, Callable[[Any], bool]]:
        return {
            name: (spec.field if isinstance(spec, Opt) else spec).ok
            for name, spec in self.fields.items()
        }

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.fields)

    @cached_property
    def _required(self) -> frozenset[str]:
        return frozenset(n for n, s in self.fields.items() if not isinstance(s, Opt))


@dataclass(frozen=True)
class Any_(Field):
    """Any decoded CBOR value (for embedded foreign documents such as an in-toto predicate)."""

    def problems(self, value: Any, path: str) -> Iterator[Problem]:
        return iter(())

    def ok(self, value: Any) -> bool:
        return True
