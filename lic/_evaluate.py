"""Evaluation of a proposed use against a license. Pure; no I/O, no clock.

Rules (SPEC.md section 5.3): a prohibition beats a permission; an allow-list must be matched;
codes are hierarchical; a constraint whose input the use does not supply gives indeterminate,
never permit; a model digest that does not match gives deny. The decision lists every reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, NamedTuple

from keys.errors import MalformedError

from . import _vocab
from ._model import License, Rate

if TYPE_CHECKING:
    from ._token import VerifiedToken

__all__ = ["Decision", "Effect", "Reason", "Use", "evaluate"]

Effect = Literal["permit", "deny", "indeterminate"]
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")


@dataclass(frozen=True, slots=True)
class Use:
    """A proposed use. Every field is optional; ``None`` means "not supplied".

    ``data`` is the set of data categories involved (an empty set says "none"); ``rate`` the
    request rate; ``mau`` monthly active users; ``model_digest`` the SHA-256 (hex) of the weights
    in use; ``time`` the moment of use (Unix seconds), checked against the token's validity.
    """

    action: str | None = None
    purpose: str | None = None
    region: str | None = None
    channel: str | None = None
    platform: str | None = None
    data: frozenset[str] | None = None
    rate: Rate | None = None
    mau: int | None = None
    model_digest: str | None = None
    time: int | None = None

    def __post_init__(self) -> None:
        for name in ("action", "purpose", "channel", "platform"):
            v = getattr(self, name)
            if v is not None:
                _vocab.check_code_syntax(v, f"use {name}")
        if self.region is not None and not (
            isinstance(self.region, str) and self.region in _vocab.countries()
        ):
            raise MalformedError(
                f"use region: {self.region!r} is not an ISO 3166-1 alpha-2 country"
            )
        if self.data is not None:
            if not isinstance(self.data, frozenset):
                object.__setattr__(self, "data", frozenset(self.data))
            for c in self.data or ():
                _vocab.check_code_syntax(c, "use data")
        if self.rate is not None and not isinstance(self.rate, Rate):
            raise MalformedError("use rate: must be a Rate")
        for name in ("mau", "time"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise MalformedError(f"use {name}: must be a non-negative integer")
        if self.model_digest is not None and not (
            isinstance(self.model_digest, str) and _HEX64.match(self.model_digest)
        ):
            raise MalformedError("use model digest: must be 64 lowercase hex digits")


class Reason(NamedTuple):
    """Why a constraint did not permit: the field, what the license expects, what the use has."""

    field: str
    expected: str
    actual: str | None
    message: str
    effect: Effect

    def to_dict(self) -> dict[str, str | None]:
        return {
            "field": self.field,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
            "effect": self.effect,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome: ``effect``, every reason that kept it from permit, and the duties that apply.

    A permit has no reasons. Duties are given for permit and indeterminate (they apply once the
    use is allowed), none for deny.
    """

    effect: Effect
    reasons: tuple[Reason, ...] = ()
    duties: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = field(default=())

    @property
    def permitted(self) -> bool:
        return self.effect == "permit"

    def to_dict(self) -> dict[str, object]:
        return {
            "effect": self.effect,
            "reasons": [r.to_dict() for r in self.reasons],
            "duties": [{"duty": d, **dict(p)} for d, p in self.duties],
        }


@lru_cache(maxsize=4096)
def _fmt(codes: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(codes))


def evaluate(license: License | VerifiedToken, use: Use) -> Decision:
    """Decide ``use`` under ``license`` (a ``License`` or a verified token, whose validity
    window is then checked against ``use.time`` when given)."""
    window: tuple[int, int] | None = None
    if not isinstance(license, License):
        window = (license.nbf, license.exp)
        license = license.license
    c = license.compiled
    out: list[Reason] = []
    add = out.append
    anc = _vocab.ancestors

    # model binding
    digest = use.model_digest
    if digest is None:
        add(
            Reason(
                "model",
                license.model.sha256,
                None,
                "use does not name the model digest",
                "indeterminate",
            )
        )
    elif digest != license.model.sha256:
        add(
            Reason(
                "model",
                license.model.sha256,
                digest,
                "model digest does not match the license",
                "deny",
            )
        )

    # time
    if window is not None and use.time is not None and not window[0] <= use.time < window[1]:
        add(
            Reason(
                "time",
                f"[{window[0]}, {window[1]})",
                str(use.time),
                "outside the token's validity",
                "deny",
            )
        )

    # action, purpose: allow-list and deny-list, hierarchical
    for name, value, permit, prohibit, above in (
        ("action", use.action, c.permit_actions, c.prohibit_actions, c.prohibit_actions_above),
        ("purpose", use.purpose, c.permit_purposes, c.prohibit_purposes, c.prohibit_purposes_above),
    ):
        if value is None:
            if permit is not None or prohibit:
                exp = _fmt(permit) if permit is not None else f"not under {_fmt(prohibit)}"
                add(Reason(name, exp, None, f"use does not say its {name}", "indeterminate"))
            continue
        a = anc(value)
        if not a.isdisjoint(prohibit):
            add(Reason(name, f"not under {_fmt(prohibit)}", value, f"{name} is prohibited", "deny"))
        elif value in above:
            add(
                Reason(
                    name,
                    f"not under {_fmt(prohibit)}",
                    value,
                    f"{name} is broader than a prohibited code; name a narrower one",
                    "indeterminate",
                )
            )
        if permit is not None and a.isdisjoint(permit):
            add(Reason(name, _fmt(permit), value, f"{name} is not permitted", "deny"))

    # region
    region = use.region
    if region is None:
        if c.permit_countries is not None or c.prohibit_countries:
            add(
                Reason(
                    "region",
                    _region_expect(license),
                    None,
                    "use does not say its region",
                    "indeterminate",
                )
            )
    else:
        if region in c.prohibit_countries:
            add(Reason("region", _region_expect(license), region, "region is prohibited", "deny"))
        if c.permit_countries is not None and region not in c.permit_countries:
            add(
                Reason("region", _region_expect(license), region, "region is not permitted", "deny")
            )

    # channel: allow-list
    if c.permit_channels is not None:
        if use.channel is None:
            add(
                Reason(
                    "channel",
                    _fmt(c.permit_channels),
                    None,
                    "use does not say its channel",
                    "indeterminate",
                )
            )
        elif anc(use.channel).isdisjoint(c.permit_channels):
            add(
                Reason(
                    "channel",
                    _fmt(c.permit_channels),
                    use.channel,
                    "channel is not permitted",
                    "deny",
                )
            )

    # platform, data: deny-lists
    if c.prohibit_platforms:
        exp = f"not under {_fmt(c.prohibit_platforms)}"
        if use.platform is None:
            add(Reason("platform", exp, None, "use does not say its platform", "indeterminate"))
        elif not anc(use.platform).isdisjoint(c.prohibit_platforms):
            add(Reason("platform", exp, use.platform, "platform is prohibited", "deny"))
        elif use.platform in c.prohibit_platforms_above:
            add(
                Reason(
                    "platform",
                    exp,
                    use.platform,
                    "platform is broader than a prohibited code; name a narrower one",
                    "indeterminate",
                )
            )
    if c.prohibit_data:
        exp = f"not under {_fmt(c.prohibit_data)}"
        if use.data is None:
            add(
                Reason(
                    "data",
                    exp,
                    None,
                    "use does not say which data categories it involves",
                    "indeterminate",
                )
            )
        else:
            for cat in sorted(use.data):
                if not anc(cat).isdisjoint(c.prohibit_data):
                    add(Reason("data", exp, cat, "data category is prohibited", "deny"))
                elif cat in c.prohibit_data_above:
                    add(
                        Reason(
                            "data",
                            exp,
                            cat,
                            "data category is broader than a prohibited code; name a narrower one",
                            "indeterminate",
                        )
                    )

    # limits
    limits = license.limits
    if limits.rate is not None:
        if use.rate is None:
            add(
                Reason("rate", str(limits.rate), None, "use does not say its rate", "indeterminate")
            )
        elif use.rate.exceeds(limits.rate):
            add(
                Reason(
                    "rate",
                    f"at most {limits.rate}",
                    str(use.rate),
                    "rate is above the limit",
                    "deny",
                )
            )
    if limits.mau is not None:
        if use.mau is None:
            add(
                Reason(
                    "mau",
                    str(limits.mau),
                    None,
                    "use does not say its monthly active users",
                    "indeterminate",
                )
            )
        elif use.mau > limits.mau:
            add(
                Reason(
                    "mau",
                    f"at most {limits.mau}",
                    str(use.mau),
                    "monthly active users above the limit",
                    "deny",
                )
            )

    if not out:
        return Decision("permit", (), _duties(license))
    effect: Effect = "deny" if any(r.effect == "deny" for r in out) else "indeterminate"
    return Decision(effect, tuple(out), () if effect == "deny" else _duties(license))


def _region_expect(license: License) -> str:
    return _region_text(license.permit.regions, license.prohibit.regions)


@lru_cache(maxsize=1024)
def _region_text(permit: tuple[str, ...] | None, prohibit: tuple[str, ...]) -> str:
    parts = []
    if permit is not None:
        parts.append(f"in {_fmt(permit)}")
    if prohibit:
        parts.append(f"not in {_fmt(prohibit)}")
    return "; ".join(parts)


def _duties(license: License) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    return license.compiled.duties
