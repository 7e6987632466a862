"""Evaluation of a proposed use against a license. No I/O, no clock: the decision depends only
on the license and the use (a bounded memo of code-list results, below, cannot change it).

Rules (SPEC.md section 5.3): a prohibition beats a permission; an allow-list must be matched;
codes are hierarchical; a constraint whose input the use does not supply gives indeterminate,
never permit; a model digest that does not match gives deny. The decision lists every reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from keys import time_text
from keys.errors import MalformedError

from . import _vocab
from ._model import License, Rate

if TYPE_CHECKING:
    from .tokens import VerifiedToken

__all__ = ["Decision", "Effect", "Reason", "Use", "evaluate"]

Effect = Literal["permit", "deny", "indeterminate"]
# The code list(s) each coded field of a use must come from (custom ``x-`` codes aside).
_USE_CODE_LISTS = (
    ("action", ("actions",)),
    ("purpose", _vocab.PURPOSE_LISTS),
    ("channel", ("channels",)),
    ("platform", ("platforms",)),
)
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")


@dataclass(frozen=True, slots=True)
class Use:
    """A proposed use. Every field is optional; ``None`` means "not supplied".

    Codes must be listed in the vocabulary (or custom, ``x-``): an unknown code is malformed
    input, never a deny. The region is a country, read case-insensitively (``de`` is ``DE``).

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
        # Codes are kept as plain str (a subclass could compare or hash differently, and
        # evaluation memoises on the exact values).
        for name, kinds in _USE_CODE_LISTS:
            v = getattr(self, name)
            if v is not None:
                if isinstance(v, str) and type(v) is not str:
                    v = str.__str__(v)
                    object.__setattr__(self, name, v)
                _vocab.check_use_code(v, kinds, f"use {name}")
        region = self.region
        if region is not None:
            if isinstance(region, str) and type(region) is not str:
                region = str.__str__(region)
            region = _vocab.normalize_region(region, "use region", groups=False)
            if region is not self.region:
                object.__setattr__(self, "region", region)
        if self.data is not None:
            if type(self.data) is not frozenset:
                object.__setattr__(self, "data", frozenset(self.data))
            for c in self.data or ():
                _vocab.check_code_syntax(c, "use data")
            if any(type(c) is not str for c in self.data or ()):
                object.__setattr__(self, "data", frozenset(str.__str__(c) for c in self.data))
            for c in self.data or ():
                _vocab.check_use_code(c, ("data_categories",), "use data")
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
        """The reason as JSON-ready values."""
        return {
            "field": self.field,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
            "effect": self.effect,
        }


class Decision(NamedTuple):
    """The outcome: ``effect``, every reason that kept it from permit, and the duties that apply.

    A permit has no reasons. Duties are given for permit and indeterminate (they apply once the
    use is allowed), none for deny.
    """

    effect: Effect
    reasons: tuple[Reason, ...] = ()
    duties: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    @property
    def permitted(self) -> bool:
        """Whether the effect is ``permit``."""
        return self.effect == "permit"

    def to_dict(self) -> dict[str, object]:
        """The decision as JSON-ready values."""
        return {
            "effect": self.effect,
            "reasons": [r.to_dict() for r in self.reasons],
            "duties": [{"duty": d, **dict(p)} for d, p in self.duties],
        }


_BROADER = "is broader than a prohibited code; name a narrower one"


def _codes(
    add: Callable[[Reason], None],
    name: str,
    value: str | None,
    permit: frozenset[str] | None,
    prohibit: frozenset[str],
    above: frozenset[str],
    permit_text: str,
    prohibit_text: str,
) -> None:
    """An allow-list and a deny-list of hierarchical codes, for action and purpose."""
    if value is None:
        if permit is not None or prohibit:
            exp = permit_text if permit is not None else prohibit_text
            add(Reason(name, exp, None, f"use does not say its {name}", "indeterminate"))
        return
    a = _vocab.ancestors(value)
    if prohibit:
        if not a.isdisjoint(prohibit):
            add(Reason(name, prohibit_text, value, f"{name} is prohibited", "deny"))
        elif value in above:
            add(Reason(name, prohibit_text, value, f"{name} {_BROADER}", "indeterminate"))
    if permit is not None and a.isdisjoint(permit):
        add(Reason(name, permit_text, value, f"{name} is not permitted", "deny"))


def _clear(
    a: frozenset[str],
    value: str,
    permit: frozenset[str] | None,
    prohibit: frozenset[str],
    above: frozenset[str],
) -> bool:
    return (
        a.isdisjoint(prohibit)
        and value not in above
        and (permit is None or not a.isdisjoint(permit))
    )


# The categorical part of a decision (action, purpose, region, channel, platform, data) is a
# pure function of the license and those six values, and a gateway sees few distinct
# combinations: it is computed once per combination and kept here, keyed by the license's
# compiled sets (identity) and the exact values. Bounded; cleared when full.
_MEMO: dict[tuple[object, ...], tuple[tuple[Reason, ...], bool, Decision]] = {}
_MEMO_CAP = 8192


def evaluate(license: License | VerifiedToken, use: Use) -> Decision:
    """Decide ``use`` under ``license`` (a ``License`` or a verified token, whose validity
    window is then checked against ``use.time`` when given)."""
    pre: list[Reason] | None = None
    if not isinstance(license, License):
        if use.time is not None and not license.nbf <= use.time < license.exp:
            window = f"[{time_text(license.nbf)}, {time_text(license.exp)})"
            pre = [Reason("time", window, time_text(use.time),
                          "outside the token's validity", "deny")]  # fmt: skip
        license = license.license
    c = license._compiled
    key = (c, use.action, use.purpose, use.region, use.channel, use.platform, use.data)
    entry = _MEMO.get(key)
    if entry is None:
        entry = _categorical(license, use)
        if len(_MEMO) >= _MEMO_CAP:
            _MEMO.clear()
        _MEMO[key] = entry

    # the common case: the model named and matching, every limit's input supplied and
    # within it; the reasons below say the same in full
    limit = c.rate
    mau_limit = c.mau
    if (
        pre is None
        and use.model_digest == c.sha256
        and (
            limit is None
            or (
                (rt := use.rate) is not None
                and rt.count * limit.seconds <= limit.count * rt.seconds  # = not rt.exceeds(limit)
            )
        )
        and (mau_limit is None or ((mu := use.mau) is not None and mu <= mau_limit))
    ):
        return entry[2]

    digest = use.model_digest
    if digest != license.model.sha256:
        if pre is None:
            pre = []
        if digest is None:
            pre.append(Reason("model", c.texts.model, None, "use does not name the model digest",
                              "indeterminate"))  # fmt: skip
        else:
            pre.append(Reason("model", c.texts.model, digest,
                              "model digest does not match the license", "deny"))  # fmt: skip

    post: list[Reason] | None = None
    limits = license.limits
    limit = limits.rate
    if limit is not None:
        rate = use.rate
        if rate is None:
            post = [Reason("rate", c.texts.rate, None, "use does not say its rate",
                           "indeterminate")]  # fmt: skip
        elif rate.count * limit.seconds > limit.count * rate.seconds:  # = rate.exceeds(limit)
            post = [Reason("rate", c.texts.rate, str(rate), "rate is above the limit", "deny")]
    mau_limit = limits.mau
    if mau_limit is not None:
        mau = use.mau
        if mau is None:
            r = Reason("mau", c.texts.mau, None, "use does not say its monthly active users",
                       "indeterminate")  # fmt: skip
        elif mau > mau_limit:
            r = Reason("mau", c.texts.mau, str(mau), "monthly active users above the limit", "deny")
        else:
            r = None
        if r is not None:
            if post is None:
                post = [r]
            else:
                post.append(r)

    cat, cat_deny, alone = entry
    if pre is None and post is None:
        return alone
    reasons = (*(pre or ()), *cat, *(post or ()))
    if cat_deny or any(r.effect == "deny" for r in (*(pre or ()), *(post or ()))):
        return Decision("deny", reasons, ())
    return Decision("indeterminate", reasons, c.duties)


def _categorical(license: License, use: Use) -> tuple[tuple[Reason, ...], bool, Decision]:
    """The reasons from the code lists (action, purpose, region, channel, platform, data),
    whether one of them denies, and the decision they give alone."""
    out: list[Reason] = []
    add = out.append
    c = license._compiled
    t = c.texts
    anc = _vocab.ancestors

    # action, purpose: the common case (under a permitted code, clear of every prohibited
    # one) is decided inline; anything else goes through _codes, which explains it.
    v = use.action
    if v is not None and _clear(anc(v), v, c.permit_actions, c.prohibit_actions,
                                c.prohibit_actions_above):  # fmt: skip
        pass
    elif c.permit_actions is not None or c.prohibit_actions:
        _codes(add, "action", v, c.permit_actions, c.prohibit_actions,
               c.prohibit_actions_above, t.permit_actions, t.prohibit_actions)  # fmt: skip
    v = use.purpose
    if v is not None and _clear(anc(v), v, c.permit_purposes, c.prohibit_purposes,
                                c.prohibit_purposes_above):  # fmt: skip
        pass
    elif c.permit_purposes is not None or c.prohibit_purposes:
        _codes(add, "purpose", v, c.permit_purposes, c.prohibit_purposes,
               c.prohibit_purposes_above, t.permit_purposes, t.prohibit_purposes)  # fmt: skip

    if c.permit_countries is not None or c.prohibit_countries:
        region = use.region
        if region is None:
            add(Reason("region", t.regions, None, "use does not say its region", "indeterminate"))
        else:
            if region in c.prohibit_countries:
                add(Reason("region", t.regions, region, "region is prohibited", "deny"))
            if c.permit_countries is not None and region not in c.permit_countries:
                add(Reason("region", t.regions, region, "region is not permitted", "deny"))

    if c.permit_channels is not None:
        channel = use.channel
        if channel is None:
            add(Reason("channel", t.channels, None, "use does not say its channel",
                       "indeterminate"))  # fmt: skip
        elif anc(channel).isdisjoint(c.permit_channels):
            add(Reason("channel", t.channels, channel, "channel is not permitted", "deny"))

    if c.prohibit_platforms:
        platform = use.platform
        if platform is None:
            add(Reason("platform", t.platforms, None, "use does not say its platform",
                       "indeterminate"))  # fmt: skip
        elif not anc(platform).isdisjoint(c.prohibit_platforms):
            add(Reason("platform", t.platforms, platform, "platform is prohibited", "deny"))
        elif platform in c.prohibit_platforms_above:
            add(Reason("platform", t.platforms, platform, f"platform {_BROADER}",
                       "indeterminate"))  # fmt: skip

    if c.prohibit_data:
        data = use.data
        if data is None:
            add(Reason("data", t.data, None, "use does not say which data categories it involves",
                       "indeterminate"))  # fmt: skip
        elif data:
            for cat in sorted(data):
                if not anc(cat).isdisjoint(c.prohibit_data):
                    add(Reason("data", t.data, cat, "data category is prohibited", "deny"))
                elif cat in c.prohibit_data_above:
                    add(Reason("data", t.data, cat, f"data category {_BROADER}",
                               "indeterminate"))  # fmt: skip

    if not out:
        return (), False, _permit(license)
    reasons = tuple(out)
    for r in reasons:
        if r.effect == "deny":
            return reasons, True, Decision("deny", reasons, ())
    return reasons, False, Decision("indeterminate", reasons, c.duties)


def _permit(license: License) -> Decision:
    """The permit decision of a license: the same value every time, so built once."""
    c = license._compiled
    decision = c.permit_decision
    if decision is None:
        decision = c.permit_decision = Decision("permit", (), c.duties)
    return decision  # type: ignore[no-any-return]
