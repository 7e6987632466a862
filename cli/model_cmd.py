"""``lic model ...``: the OpenSSF Model Signing (OMS) manifest of a model directory."""

from __future__ import annotations

from pathlib import Path

import click

from lic.oms import manifest_of

from ._output import emit, json_option

__all__ = ["model_group"]


@click.group("model")
def model_group() -> None:
    """Model directories as OpenSSF Model Signing (OMS) describes them: files and digests."""


@model_group.command("digest")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option(
    "--ignore-path",
    "ignore_paths",
    multiple=True,
    metavar="PATH",
    help="Also leave out this path, relative to DIR (repeatable; e.g. the signature file).",
)
@json_option
def digest_cmd(directory: Path, ignore_paths: tuple[str, ...], as_json: bool) -> None:
    """Print the OMS root of a model directory as sha256:<hex>: the digest model-signing signs.

    Every regular file is hashed with SHA-256 (top-level .git, .gitattributes, .github and
    .gitignore left out); the root is SHA-256 over the file digests ordered by path
    components. Symbolic links and special files are refused. With --json: the resource
    list and the serialization that fixes the root. When ordering names as plain strings
    would give another root, this is said (on standard error, or as "orderings_differ")
    and the package's ordering is kept.
    """
    manifest = manifest_of(directory, ignore_paths=ignore_paths)
    if manifest.orderings_differ and not as_json:
        click.echo(
            "lic: note: the root uses model-signing's ordering (by path components); "
            f"ordering names as plain strings would give sha256:{manifest.string_order_root}",
            err=True,
        )
    emit(manifest.to_json(), as_json=as_json, text=manifest.digest)
