"""The license model: one immutable value, parsed strictly from a file or a token claim.

A license is built from a plain mapping (the TOML/JSON file a person writes, or the ``lic``
claim of a token). ``License.from_mapping(..., known_codes=True)`` is used at issuance and refuses
codes missing from the vocabulary; verification uses ``known_codes=False`` (syntax only), so a
token issued with a newer vocabulary still verifies. Precomputed sets for evaluation are built
once per license.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from keys import json_loads_strict
from keys.errors import MalformedError

from . import _vocab

__all__ = [
    "LICENSE_VERSION",
    "DirectoryBinding",
    "License",
    "Limits",
    "ModelBinding",
    "Permit",
    "Prohibit",
    "Rate",
    "Sublicense",
    "Terms",
    "load_license",
    "parse_duration",
]

LICENSE_VERSION = 1
MAX_LICENSE_FILE = 64 * 1024
MAX_LIST = 256
MAX_INT = 2**53 - 1  # stays exact in every JSON implementation
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_DURATION = re.compile(
    r"\AP(?!\Z)(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?=\d)(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?\Z"
)


def parse_duration(text: object, what: str = "duration") -> int:
    """ISO 8601 duration with weeks, days, hours, minutes, seconds -> seconds (> 0).

    Years and months are refused: their length in seconds is not fixed.
    """
    m = _DURATION.match(text) if isinstance(text, str) else None
    if m is None:
        raise MalformedError(f"{what}: {text!r} is not an ISO 8601 duration like PT1H or P30D")
    w, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    seconds = (((w * 7 + d) * 24 + h) * 60 + mi) * 60 + s
    if seconds <= 0:
        raise MalformedError(f"{what}: duration must be longer than zero")
    return seconds


def _int(v: object, what: str, *, minimum: int = 0) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not minimum <= v <= MAX_INT:
        raise MalformedError(f"{what}: must be an integer from {minimum} to 2^53-1")
    return v


def _str(v: object, what: str, *, max_len: int = 256) -> str:
    if not isinstance(v, str) or not v or len(v) > max_len or not v.isprintable():
        raise MalformedError(f"{what}: must be a non-empty printable string")
    return v


def _hex64(v: object, what: str) -> str:
    if not isinstance(v, str) or not _HEX64.match(v):
        raise MalformedError(f"{what}: must be 64 lowercase hex digits (a SHA-256 digest)")
    return v


def _map(
    v: object, what: str, allowed: Iterable[str], required: Iterable[str] = ()
) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise MalformedError(f"{what}: must be a table/object")
    extra = set(v) - set(allowed)
    if extra:
        raise MalformedError(f"{what}: unknown member(s) {sorted(map(str, extra))}")
    for name in required:
        if name not in v:
            raise MalformedError(f"{what}: missing member {name!r}")
    return v


def _codes(v: object, what: str, check: Any, *, allow_empty: bool) -> tuple[str, ...]:
    if not isinstance(v, list) or len(v) > MAX_LIST:
        raise MalformedError(f"{what}: must be a list of at most {MAX_LIST} codes")
    if not v and not allow_empty:
        raise MalformedError(f"{what}: an empty allow-list permits nothing; omit it or name codes")
    out = tuple(check(x, what) for x in v)
    if len(set(out)) != len(out):
        raise MalformedError(f"{what}: a code is listed twice")
    return out


DIRECTORY_METHOD = "files"
DIRECTORY_HASH_TYPE = "sha256"
DIRECTORY_ORDERING = "path-components"
_DIRECTORY_MEMBERS = ("root", "method", "hash_type", "ordering", "resources")


@dataclass(frozen=True, slots=True)
class DirectoryBinding:
    """A model directory's OMS manifest as a license binds it (SPEC 15.6): the ``root`` (hex
    SHA-256 over the file digests), what fixes it (``method`` ``files``, ``hash_type``
    ``sha256``, ``ordering`` ``path-components``) and ``resources``, the hex SHA-256 of the
    resource list's deterministic CBOR (``lic.oms.resources_digest``), which binds the names.
    Build one from a directory with ``lic.oms.directory_binding``."""

    root: str
    resources: str
    method: str = DIRECTORY_METHOD
    hash_type: str = DIRECTORY_HASH_TYPE
    ordering: str = DIRECTORY_ORDERING

    def __post_init__(self) -> None:
        _hex64(self.root, "model.manifest.root")
        _hex64(self.resources, "model.manifest.resources")
        for name, want in (
            ("method", DIRECTORY_METHOD),
            ("hash_type", DIRECTORY_HASH_TYPE),
            ("ordering", DIRECTORY_ORDERING),
        ):
            if getattr(self, name) != want:
                raise MalformedError(f"model.manifest.{name}: must be {want!r}")

    @classmethod
    def from_mapping(cls, v: object) -> DirectoryBinding:
        """Strictly parse the ``model.manifest`` member: exactly its five members."""
        m = _map(v, "model.manifest", _DIRECTORY_MEMBERS, _DIRECTORY_MEMBERS)
        return cls(m["root"], m["resources"], m["method"], m["hash_type"], m["ordering"])

    def to_claim(self) -> dict[str, str]:
        """The ``model.manifest`` member."""
        return {
            "root": self.root,
            "method": self.method,
            "hash_type": self.hash_type,
            "ordering": self.ordering,
            "resources": self.resources,
        }


@dataclass(frozen=True, slots=True)
class ModelBinding:
    """The model weights a license applies to: a name and the SHA-256 (hex) of the weights;
    for a model directory, also its manifest (``manifest``), whose root is then ``sha256``."""

    name: str
    sha256: str
    manifest: DirectoryBinding | None = None

    def __post_init__(self) -> None:
        if self.manifest is not None and self.manifest.root != self.sha256:
            raise MalformedError("model.sha256: must equal model.manifest.root (SPEC 15.6)")

    def to_claim(self) -> dict[str, Any]:
        """The ``model`` member."""
        out: dict[str, Any] = {"name": self.name, "sha256": self.sha256}
        if self.manifest is not None:
            out["manifest"] = self.manifest.to_claim()
        return out


@dataclass(frozen=True, slots=True)
class Terms:
    """The human-readable terms a license carries: id, version and the SHA-256 (hex) of the
    text."""

    id: str
    version: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Permit:
    """Allow-lists. ``None`` means the dimension is not restricted; a tuple must be matched."""

    actions: tuple[str, ...] | None = None
    purposes: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Prohibit:
    """Deny-lists; a use under any listed code is denied."""

    actions: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    data: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` requests per ISO 8601 window ``per``."""

    count: int
    per: str
    seconds: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        _int(self.count, "rate count")
        object.__setattr__(self, "seconds", parse_duration(self.per, "rate window"))

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``COUNT/DURATION``, e.g. ``1000/PT1H``."""
        count, sep, per = text.partition("/")
        if not sep or not count.isdigit() or len(count) > 15:
            raise MalformedError(f"rate: {text!r} is not COUNT/DURATION, e.g. 1000/PT1H")
        return cls(int(count), per)

    def exceeds(self, limit: Rate) -> bool:
        """True when this average rate is above ``limit``'s."""
        return self.count * limit.seconds > limit.count * self.seconds

    def __str__(self) -> str:
        return f"{self.count}/{self.per}"


@dataclass(frozen=True, slots=True)
class Limits:
    """Usage ceilings: ``rate`` (a count per window) and ``mau`` (monthly active users);
    ``None`` sets no ceiling."""

    rate: Rate | None = None
    mau: int | None = None


@dataclass(frozen=True, slots=True)
class Sublicense:
    """Whether the holder may sublicense, and how many levels below this license may follow."""

    allowed: bool = False
    max_depth: int = 0


_TOP = (
    "v",
    "model",
    "terms",
    "tier",
    "permit",
    "prohibit",
    "limits",
    "duties",
    "sublicense",
    "parent",
)
_PERMIT = ("actions", "purposes", "regions", "channels")
_PROHIBIT = ("actions", "purposes", "regions", "platforms", "data")


class _Texts:
    """The ``expected`` texts of evaluation reasons, written once per license."""

    __slots__ = (
        "channels",
        "data",
        "mau",
        "model",
        "permit_actions",
        "permit_purposes",
        "platforms",
        "prohibit_actions",
        "prohibit_purposes",
        "rate",
        "regions",
    )

    def __init__(self, license: License) -> None:
        def fmt(codes: Iterable[str] | None) -> str:
            return ", ".join(sorted(codes or ()))

        p, q = license.permit, license.prohibit
        self.model = license.model.sha256
        self.permit_actions = fmt(p.actions)
        self.permit_purposes = fmt(p.purposes)
        self.prohibit_actions = f"not under {fmt(q.actions)}"
        self.prohibit_purposes = f"not under {fmt(q.purposes)}"
        self.channels = fmt(p.channels)
        self.platforms = f"not under {fmt(q.platforms)}"
        self.data = f"not under {fmt(q.data)}"
        parts = []
        if p.regions is not None:
            parts.append(f"in {fmt(p.regions)}")
        if q.regions:
            parts.append(f"not in {fmt(q.regions)}")
        self.regions = "; ".join(parts)
        rate, mau = license.limits.rate, license.limits.mau
        self.rate = f"at most {rate}" if rate is not None else ""
        self.mau = f"at most {mau}" if mau is not None else ""


class _Compiled:
    """Sets precomputed for evaluation and narrowing checks."""

    # mau, rate, sha256: the license's limits and model digest, for evaluation's common case
    __slots__ = (
        "duties",
        "mau",
        "permit_actions",
        "permit_channels",
        "permit_countries",
        "permit_decision",
        "permit_purposes",
        "prohibit_actions",
        "prohibit_actions_above",
        "prohibit_countries",
        "prohibit_data",
        "prohibit_data_above",
        "prohibit_platforms",
        "prohibit_platforms_above",
        "prohibit_purposes",
        "prohibit_purposes_above",
        "rate",
        "sha256",
        "texts",
    )

    texts: _Texts
    sha256: str
    rate: Rate | None
    mau: int | None

    def __init__(
        self, permit: Permit, prohibit: Prohibit, duties: Mapping[str, Mapping[str, str]]
    ) -> None:
        def opt(v: tuple[str, ...] | None) -> frozenset[str] | None:
            return None if v is None else frozenset(v)

        def above(codes: tuple[str, ...]) -> frozenset[str]:
            out: set[str] = set()
            for c in codes:
                out |= _vocab.ancestors(c) - {c}
            return frozenset(out)

        self.permit_actions = opt(permit.actions)
        self.permit_purposes = opt(permit.purposes)
        self.permit_channels = opt(permit.channels)
        self.permit_countries = (
            None if permit.regions is None else _vocab.expand_regions(permit.regions)
        )
        self.prohibit_actions = frozenset(prohibit.actions)
        self.prohibit_actions_above = above(prohibit.actions)
        self.prohibit_purposes = frozenset(prohibit.purposes)
        self.prohibit_purposes_above = above(prohibit.purposes)
        self.prohibit_platforms = frozenset(prohibit.platforms)
        self.prohibit_platforms_above = above(prohibit.platforms)
        self.prohibit_data = frozenset(prohibit.data)
        self.prohibit_data_above = above(prohibit.data)
        self.prohibit_countries = _vocab.expand_regions(prohibit.regions)
        self.permit_decision: Any = None  # set by evaluation, which owns the Decision type
        self.duties = tuple(sorted((d, tuple(sorted(p.items()))) for d, p in duties.items()))


@dataclass(frozen=True, slots=True)
class License:
    """One license (the ``lic`` claim), immutable. Build with ``from_mapping``/``load_license``."""

    model: ModelBinding
    terms: Terms
    tier: str
    permit: Permit = Permit()
    prohibit: Prohibit = Prohibit()
    limits: Limits = Limits()
    duties: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sublicense: Sublicense = Sublicense()
    parent: str | None = None
    _compiled: _Compiled = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Licenses are shared (the verifier caches them), so nothing in one may be mutable.
        frozen = MappingProxyType({k: MappingProxyType(dict(v)) for k, v in self.duties.items()})
        object.__setattr__(self, "duties", frozen)
        compiled = _Compiled(self.permit, self.prohibit, self.duties)
        object.__setattr__(self, "_compiled", compiled)
        compiled.texts = _Texts(self)
        compiled.sha256, compiled.rate, compiled.mau = (
            self.model.sha256, self.limits.rate, self.limits.mau
        )  # fmt: skip

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_claim(), sort_keys=True))

    # -- parsing --------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, d: object, *, known_codes: bool) -> License:
        """Strictly parse the ``lic`` claim or a license file's table.

        ``known_codes``: refuse codes that are neither listed in the vocabulary nor ``x-``
        (issuance); otherwise check syntax only (verification).
        """
        d = _map(d, "license", _TOP, ("model", "terms", "tier"))
        if "v" in d and (_int(d["v"], "license v") != LICENSE_VERSION):
            raise MalformedError(f"license v: only version {LICENSE_VERSION} is understood")

        def code(kind: str) -> Any:
            if known_codes:
                return lambda x, what: _vocab.check_code(x, kind, what)
            return _vocab.check_code_syntax

        def region(x: object, what: str) -> str:
            return _vocab.check_region(x, what, known=known_codes)

        def purpose(x: object, what: str) -> str:
            if known_codes:
                return _vocab.check_use_code(x, _vocab.PURPOSE_LISTS, what)
            return _vocab.check_code_syntax(x, what)

        m = _map(d["model"], "model", ("name", "sha256", "manifest"), ("name", "sha256"))
        model = ModelBinding(
            _str(m["name"], "model.name"),
            _hex64(m["sha256"], "model.sha256"),
            DirectoryBinding.from_mapping(m["manifest"]) if "manifest" in m else None,
        )
        t = _map(d["terms"], "terms", ("id", "version", "sha256"), ("id", "version", "sha256"))
        terms = Terms(
            _str(t["id"], "terms.id"),
            _str(t["version"], "terms.version"),
            _hex64(t["sha256"], "terms.sha256"),
        )
        tier = (code("tiers"))(d["tier"], "tier")

        checkers = {
            "actions": code("actions"),
            "purposes": purpose,
            "regions": region,
            "channels": code("channels"),
            "platforms": code("platforms"),
            "data": code("data_categories"),
        }
        p = _map(d.get("permit", {}), "permit", _PERMIT)
        permit = Permit(
            **{
                k: _codes(p[k], f"permit.{k}", checkers[k], allow_empty=False)
                for k in _PERMIT
                if k in p
            }
        )
        q = _map(d.get("prohibit", {}), "prohibit", _PROHIBIT)
        prohibit = Prohibit(
            **{
                k: _codes(q[k], f"prohibit.{k}", checkers[k], allow_empty=True)
                for k in _PROHIBIT
                if k in q
            }
        )

        lim = _map(d.get("limits", {}), "limits", ("rate", "mau"))
        rate = None
        if "rate" in lim:
            r = _map(lim["rate"], "limits.rate", ("count", "per"), ("count", "per"))
            rate = Rate(_int(r["count"], "limits.rate.count"), _str(r["per"], "limits.rate.per"))
        mau = _int(lim["mau"], "limits.mau") if "mau" in lim else None
        limits = Limits(rate, mau)

        duties = _parse_duties(d.get("duties", {}), known_codes)

        s = _map(d.get("sublicense", {}), "sublicense", ("allowed", "max_depth"))
        allowed = s.get("allowed", False)
        if not isinstance(allowed, bool):
            raise MalformedError("sublicense.allowed: must be true or false")
        depth = _int(s.get("max_depth", 1 if allowed else 0), "sublicense.max_depth")
        if depth > 16:
            raise MalformedError("sublicense.max_depth: at most 16")
        if allowed != (depth > 0):
            raise MalformedError(
                "sublicense: allowed needs max_depth >= 1, and max_depth >= 1 needs allowed"
            )
        parent = _hex64(d["parent"], "parent") if "parent" in d else None
        return cls(
            model, terms, tier, permit, prohibit, limits, duties, Sublicense(allowed, depth), parent
        )

    # -- output ---------------------------------------------------------------------------
    def to_claim(self) -> dict[str, Any]:
        """The ``lic`` claim: the same plain value in JSON (JWT) and CBOR (CWT)."""
        out: dict[str, Any] = {
            "v": LICENSE_VERSION,
            "model": self.model.to_claim(),
            "terms": {
                "id": self.terms.id,
                "version": self.terms.version,
                "sha256": self.terms.sha256,
            },
            "tier": self.tier,
        }
        permit = {k: list(v) for k in _PERMIT if (v := getattr(self.permit, k)) is not None}
        if permit:
            out["permit"] = permit
        prohibit = {k: list(v) for k in _PROHIBIT if (v := getattr(self.prohibit, k))}
        if prohibit:
            out["prohibit"] = prohibit
        limits: dict[str, Any] = {}
        if self.limits.rate is not None:
            limits["rate"] = {"count": self.limits.rate.count, "per": self.limits.rate.per}
        if self.limits.mau is not None:
            limits["mau"] = self.limits.mau
        if limits:
            out["limits"] = limits
        if self.duties:
            out["duties"] = {k: dict(v) for k, v in self.duties.items()}
        out["sublicense"] = {
            "allowed": self.sublicense.allowed,
            "max_depth": self.sublicense.max_depth,
        }
        if self.parent is not None:
            out["parent"] = self.parent
        return out

    def with_parent(self, parent_digest: bytes) -> License:
        """The same license naming its parent token by digest (for a sublicense)."""
        return License.from_mapping(
            {**self.to_claim(), "parent": parent_digest.hex()}, known_codes=False
        )

    def check_known_codes(self) -> None:
        """Refuse codes missing from the vocabulary (issuance)."""
        License.from_mapping(self.to_claim(), known_codes=True)


def _parse_duties(v: object, known_codes: bool) -> dict[str, dict[str, str]]:
    if not isinstance(v, dict) or len(v) > 64:
        raise MalformedError("duties: must be a table/object of at most 64 duties")
    out: dict[str, dict[str, str]] = {}
    for code, params in v.items():
        what = f"duties.{code}"
        if known_codes:
            _vocab.check_code(code, "duties", "duties")
        else:
            _vocab.check_code_syntax(code, "duties")
        if not isinstance(params, dict) or len(params) > 16:
            raise MalformedError(f"{what}: parameters must be a table/object")
        allowed = None if code.startswith("x-") or not known_codes else _vocab.duty_params(code)
        if not known_codes and code in _vocab.vocabulary("duties"):
            allowed = _vocab.duty_params(code)
        clean: dict[str, str] = {}
        for name, value in params.items():
            if allowed is not None and name not in allowed:
                raise MalformedError(f"{what}: unknown parameter {name!r}")
            _vocab.check_code_syntax(name, what)
            if allowed is not None and allowed[name] in ("max", "min"):
                parse_duration(value, f"{what}.{name}")
            clean[name] = _str(value, f"{what}.{name}")
        out[code] = clean
    return out


def load_license(data: bytes, *, fmt: str | None = None, name: str = "license") -> License:
    """Parse a license file (TOML or JSON) as written by a person; codes must be known.

    ``fmt`` is ``"toml"`` or ``"json"``; by default JSON if the text starts with ``{``.
    """
    if len(data) > MAX_LICENSE_FILE:
        raise MalformedError(f"{name}: larger than {MAX_LICENSE_FILE} bytes")
    if fmt is None:
        fmt = "json" if data.lstrip()[:1] == b"{" else "toml"
    if fmt == "json":
        value = json_loads_strict(data, max_size=MAX_LICENSE_FILE, what=name)
    elif fmt == "toml":
        try:
            value = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise MalformedError(f"{name}: not valid TOML ({e})") from e
    else:
        raise MalformedError(f"{name}: format must be toml or json")
    if isinstance(value, dict) and "parent" in value:
        raise MalformedError(f"{name}: 'parent' is set by delegation, not in a license file")
    return License.from_mapping(value, known_codes=True)
