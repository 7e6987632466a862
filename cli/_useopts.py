"""The proposed-use options shared by 'lic token check' and 'lic verify'."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

import lic

__all__ = ["UseOptions", "use_options"]


@dataclass(frozen=True)
class UseOptions:
    """What the command line said about the proposed use (None: not given)."""

    action: str | None
    purpose: str | None
    region: str | None
    channel: str | None
    platform: str | None
    data: tuple[str, ...]
    no_data: bool
    rate: str | None
    mau: int | None
    model_digest: str | None

    @property
    def given(self) -> bool:
        scalars = (self.action, self.purpose, self.region, self.channel, self.platform,
                   self.rate, self.mau, self.model_digest)  # fmt: skip
        return any(v is not None for v in scalars) or bool(self.data) or self.no_data

    def use(self, now: int) -> lic.Use:
        """The use at time ``now``; --data and --no-data exclude each other."""
        if self.no_data and self.data:
            raise click.UsageError("--no-data and --data exclude each other")
        return lic.Use(
            action=self.action, purpose=self.purpose, region=self.region,
            channel=self.channel, platform=self.platform,
            data=frozenset() if self.no_data else (frozenset(self.data) if self.data else None),
            rate=lic.Rate.parse(self.rate) if self.rate is not None else None, mau=self.mau,
            model_digest=self.model_digest.lower() if self.model_digest else None, time=now,
        )  # fmt: skip


_OPTIONS = [
    click.option("--action", default=None, help="Action code, e.g. run.inference."),
    click.option("--purpose", default=None, help="Purpose code, e.g. enterprise.product."),
    click.option("--region", default=None, help="ISO 3166-1 alpha-2 country, e.g. DE."),
    click.option("--channel", default=None, help="Channel code, e.g. api.public."),
    click.option("--platform", default=None, help="Platform code, e.g. search."),
    click.option("--data", multiple=True, help="Data category involved (repeatable)."),
    click.option("--no-data", is_flag=True, help="State that no data categories are involved."),
    click.option(
        "--rate", default=None, metavar="COUNT/DURATION", help="Request rate, e.g. 100/PT1M."
    ),
    click.option("--mau", type=click.IntRange(min=0), default=None, help="Monthly active users."),
    click.option("--model-digest", default=None, help="SHA-256 (hex) of the weights in use."),
]
_NAMES = ("action", "purpose", "region", "channel", "platform", "data", "no_data", "rate", "mau",
          "model_digest")  # fmt: skip


def use_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add the use options; the command receives them as one ``use_opts: UseOptions``."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opts = UseOptions(**{name: kwargs.pop(name) for name in _NAMES})
        return f(*args, use_opts=opts, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
