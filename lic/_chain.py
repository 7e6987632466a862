"""Sublicensing: a holder delegates a narrower license; chains verify from a trusted root down.

Each link is signed by the holder key (``cnf``) of the link above, names it by digest in the
``parent`` member of its license, has the parent's ``sub`` as its ``iss``, and may only narrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keys import PublicKey, SigningKey, time_text
from keys.errors import (
    ExpiredError,
    InvalidSignatureError,
    MalformedError,
    UntrustedKeyError,
    VerificationError,
)

from . import _vocab
from ._model import License, parse_duration
from .tokens import (
    DEFAULT_LEEWAY,
    TokenFields,
    TokenFormat,
    Trust,
    VerifiedToken,
    decode_unverified,
    sign_token,
    verify,
    verify_with_key,
)

__all__ = ["Chain", "NarrowingError", "delegate", "narrowing_violations", "verify_chain"]

MAX_CHAIN = 17  # a root and up to 16 sublicense links (max_depth is at most 16)


class NarrowingError(VerificationError):
    """A sublicense widens its parent (or a delegation would)."""


@dataclass(frozen=True, slots=True)
class Chain:
    """A verified chain, root first. ``leaf`` is the license that applies to its holder."""

    links: tuple[VerifiedToken, ...]

    @property
    def leaf(self) -> VerifiedToken:
        """The last link: the license that applies to its holder."""
        return self.links[-1]

    @property
    def root(self) -> VerifiedToken:
        """The first link, signed by a trusted issuer."""
        return self.links[0]


def _under_some(code: str, parents: tuple[str, ...]) -> bool:
    return not _vocab.ancestors(code).isdisjoint(parents)


def narrowing_violations(parent: TokenFields, child: TokenFields) -> list[str]:
    """Every way ``child`` fails to narrow ``parent`` (empty when it only narrows)."""
    p, c = parent.license, child.license
    out: list[str] = []
    if c.model != p.model:
        out.append("model: a sublicense must bind the same model")
    if c.terms != p.terms:
        out.append("terms: a sublicense must carry the same terms")
    for name in ("actions", "purposes", "channels"):
        pv, cv = getattr(p.permit, name), getattr(c.permit, name)
        if pv is None:
            continue
        if cv is None:
            out.append(f"permit.{name}: parent restricts it, the sublicense must too")
            continue
        wide = [x for x in cv if not _under_some(x, pv)]
        if wide:
            out.append(f"permit.{name}: {', '.join(wide)} not within the parent's allow-list")
    if p.permit.regions is not None:
        if c.permit.regions is None:
            out.append("permit.regions: parent restricts it, the sublicense must too")
        else:
            wide_r = sorted(c._compiled.permit_countries - p._compiled.permit_countries)  # type: ignore[operator]
            if wide_r:
                out.append(f"permit.regions: {', '.join(wide_r)} not within the parent's regions")
    for name in ("actions", "purposes", "platforms", "data"):
        pv, cv = getattr(p.prohibit, name), getattr(c.prohibit, name)
        dropped = [x for x in pv if not _under_some(x, cv)]
        if dropped:
            out.append(f"prohibit.{name}: drops {', '.join(dropped)}")
    missing_r = sorted(p._compiled.prohibit_countries - c._compiled.prohibit_countries)
    if missing_r:
        out.append(f"prohibit.regions: drops {', '.join(missing_r)}")
    pr, cr = p.limits.rate, c.limits.rate
    if pr is not None and (cr is None or cr.count > pr.count or cr.seconds < pr.seconds):
        out.append(f"limits.rate: must be at most {pr.count} per a window of at least {pr.per}")
    if p.limits.mau is not None and (c.limits.mau is None or c.limits.mau > p.limits.mau):
        out.append(f"limits.mau: must be at most {p.limits.mau}")
    if child.nbf < parent.nbf or child.exp > parent.exp:
        out.append(
            f"validity: [{time_text(child.nbf)}, {time_text(child.exp)}) not inside the "
            f"parent's [{time_text(parent.nbf)}, {time_text(parent.exp)})"
        )
    for duty, params in p.duties.items():
        if duty not in c.duties:
            out.append(f"duties: drops {duty}")
            continue
        for name, value in params.items():
            rule = (
                _vocab.duty_params(duty).get(name, "same")
                if duty in _vocab.vocabulary("duties")
                else "same"
            )
            got = c.duties[duty].get(name)
            if got is None:
                out.append(f"duties.{duty}.{name}: drops the parameter")
            elif rule == "max" and parse_duration(got) > parse_duration(value):
                out.append(f"duties.{duty}.{name}: {got} is longer than the parent's {value}")
            elif rule == "min" and parse_duration(got) < parse_duration(value):
                out.append(f"duties.{duty}.{name}: {got} is shorter than the parent's {value}")
            elif rule == "same" and got != value:
                out.append(f"duties.{duty}.{name}: must stay {value!r}")
    if not p.sublicense.allowed:
        out.append("sublicense: the parent does not allow sublicensing")
    elif c.sublicense.max_depth > p.sublicense.max_depth - 1:
        out.append(
            f"sublicense.max_depth: {c.sublicense.max_depth} exceeds the parent's remaining depth "
            f"{p.sublicense.max_depth - 1}"
        )
    return out


def _link_violations(parent: TokenFields, child: TokenFields) -> list[str]:
    out = []
    if child.license.parent != parent.digest.hex():
        out.append("parent: the link does not name the token above it by digest")
    if child.iss != parent.sub:
        out.append(f"iss: {child.iss!r} is not the parent's sub {parent.sub!r}")
    if child.kid != parent.holder.thumbprint:
        out.append("kid: the link is not signed by the parent's holder key")
    return out + narrowing_violations(parent, child)


def delegate(
    parent: bytes | str,
    license: License,
    holder_key: SigningKey,
    new_holder: PublicKey,
    *,
    sub: str,
    now: int,
    lifetime: int | None = None,
    aud: Sequence[str] = (),
    fmt: TokenFormat | None = None,
    jti: bytes | None = None,
) -> bytes:
    """Issue a sublicense of ``parent`` to ``new_holder``, signed with the parent's holder key.

    The child's iss is the parent's sub, its license names the parent by digest, and it expires
    no later than the parent. Refuses (NarrowingError) a child that would widen anything.
    """
    up = decode_unverified(parent)
    if holder_key.public_key != up.holder:
        raise UntrustedKeyError("delegate: the signing key is not the parent token's holder key")
    if now >= up.exp:
        raise ExpiredError(f"delegate: the parent token expired at {time_text(up.exp)}")
    license.check_known_codes()
    child_license = license.with_parent(up.digest)
    start = max(now, up.nbf)
    exp = up.exp if lifetime is None else min(up.exp, start + lifetime)
    token = sign_token(
        child_license, holder_key, new_holder, iss=up.sub, sub=sub, iat=now, nbf=start, exp=exp,
        aud=aud, fmt=fmt or up.format, jti=jti,
    )  # fmt: skip
    problems = narrowing_violations(up, decode_unverified(token))
    if problems:
        raise NarrowingError(
            "delegate: the sublicense would widen its parent: " + "; ".join(problems)
        )
    return token


def verify_chain(
    tokens: Sequence[bytes | str], trust: Trust, *, now: int, leeway: int = DEFAULT_LEEWAY
) -> Chain:
    """Verify a chain root first: the root against the trust store, each link against the
    holder key of the link above it, every link valid at ``now`` and only narrowing."""
    if not tokens:
        raise MalformedError("chain: no tokens")
    if len(tokens) > MAX_CHAIN:
        raise NarrowingError(f"chain: longer than {MAX_CHAIN} links")
    root = verify(tokens[0], trust, now=now, leeway=leeway)
    if root.license.parent is not None:
        raise NarrowingError(
            "chain: the first token is a sublicense; the chain must start at its root"
        )
    links = [root]
    for depth, token in enumerate(tokens[1:], start=1):
        parent = links[-1]
        try:
            child = verify_with_key(token, parent.holder, now=now, leeway=leeway)
        except (UntrustedKeyError, InvalidSignatureError) as e:
            raise type(e)(
                f"chain link {depth}: not signed by the holder of link {depth - 1}: {e}"
            ) from e
        problems = _link_violations(parent, child)
        if problems:
            raise NarrowingError(f"chain link {depth}: " + "; ".join(problems))
        links.append(child)
    return Chain(tuple(links))
