"""``lic guard``: check a model directory against the license that binds it, and the use,
before the model is loaded (SPEC 15.7)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

import lic
from keys import ProofMismatchError, TrustStore, VerificationError, json_loads_strict
from keys.errors import MalformedError
from lic.oms import (
    MAX_SIGNATURE_FILE,
    ModelMismatchError,
    OmsSignature,
    Resource,
    VerifiedModel,
    bound_directory,
    check_signature,
    open_bound_directory,
    resources_from_json,
    verify_signature_bundle,
)

from ._decision import decision_lines
from ._hints import hinted
from ._keyopts import keyring_option, load_trust_store, trust_option
from ._output import emit, json_option, read_input
from ._params import at_option, time_text
from ._tokenfile import read_token
from ._useopts import UseOptions, use_options

__all__ = ["guard_cmd"]

EXIT_FOR_EFFECT = {"permit": 0, "deny": 1, "invalid": 1, "indeterminate": 3}
MAX_MANIFEST_FILE = 64 * 1024 * 1024
_NOT_CHECKED = "NOT checked: give --bundle and --policy (a bundle's evidence) to check it"


@dataclasses.dataclass(frozen=True)
class _DirOptions:
    manifest: tuple[Resource, ...] | None
    signature: OmsSignature | None
    allow_extra: bool
    allow_ignored: bool
    ignore_paths: tuple[str, ...]

    def open(self, directory: Path, license: lic.License) -> VerifiedModel:
        return open_bound_directory(
            directory, license, manifest=self.manifest, signature=self.signature,
            allow_extra=self.allow_extra,
            allow_ignored=self.allow_ignored, ignore_paths=self.ignore_paths,
        )  # fmt: skip


def read_manifest(path: Path) -> tuple[Resource, ...]:
    """A resource list from FILE: ``lic model digest --json`` output (its ``resources``), a
    bare list of resource descriptors, or an OMS signature file (the ``resources`` of the
    in-toto statement in its DSSE envelope). Nothing in it is trusted: the list must be the
    one the license binds."""
    value: Any = json_loads_strict(read_input(path, MAX_MANIFEST_FILE, f"manifest {path}"),
                                   max_size=MAX_MANIFEST_FILE, what=f"manifest {path}")  # fmt: skip
    if isinstance(value, dict) and isinstance(value.get("dsseEnvelope"), dict):
        payload = value["dsseEnvelope"].get("payload")
        try:
            statement = json.loads(base64.b64decode(payload, validate=True))
            value = statement["predicate"]["resources"]
        except (TypeError, ValueError, KeyError, binascii.Error) as e:
            raise MalformedError(f"manifest {path}: not an OMS signature's statement") from e
    elif isinstance(value, dict) and "resources" in value:
        value = value["resources"]
    with hinted(path, "manifest"):
        return resources_from_json(value)


def _mismatch(e: ProofMismatchError) -> dict[str, Any]:
    if isinstance(e, ModelMismatchError):
        return {"detail": str(e), "changed": list(e.changed), "missing": list(e.missing),
                "extra": list(e.extra), "ignored": list(e.ignored)}  # fmt: skip
    return {"detail": str(e), "changed": [], "missing": [], "extra": [], "ignored": []}


def _finish(result: dict[str, Any], lines: list[str], as_json: bool) -> None:
    emit(result, as_json=as_json, text="\n".join(lines))
    code = EXIT_FOR_EFFECT[result["effect"]]
    if code:
        click.get_current_context().exit(code)


def _model_step(
    directory: Path, license: lic.License, opts: _DirOptions, result: dict[str, Any],
    lines: list[str],
) -> bool:  # fmt: skip
    """Check the directory; a mismatch turns a permit into a deny naming the files (False)."""
    binding = bound_directory(license)
    sig = opts.signature
    if sig is not None:
        # a signature over another directory is an error (exit 1), not a file mismatch
        check_signature(sig, license)
        result["signature"] = {"subject": sig.subject_name, "root": sig.root,
                               "key_hint": sig.key_hint}  # fmt: skip
        lines.append(f"  pass  signature      {sig.subject_name} sha256:{sig.root} signed by "
                     f"publisher key {sig.key_hint[:16]}...")  # fmt: skip
    try:
        with opts.open(directory, license) as files:
            names = files.names
    except ProofMismatchError as e:
        result.update(effect="deny", reason="model", model=_mismatch(e))
        lines[0] = "DENY (model directory does not match the license)"
        lines.append(f"  fail  model          {e}")
        return False
    result["model"] = {"root": binding.root, "files": list(names), "detail": "match"}
    lines.append(f"  pass  model          {len(names)} files of {directory} match "
                 f"sha256:{binding.root}")  # fmt: skip
    return True


def _with_root(use: lic.Use, license: lic.License) -> lic.Use:
    if use.model_digest is not None:
        return use
    return dataclasses.replace(use, model_digest=bound_directory(license).root)


def _guard_bundle(
    directory: Path, bundle_file: Path, policy_file: Path, use: lic.Use, now: int,
    opts: _DirOptions,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    from ledger.bundle import (
        MAX_BUNDLE_SIZE,
        MAX_POLICY_SIZE,
        parse_bundle,
        parse_policy,
        verify_bundle,
    )

    with hinted(policy_file, "trust policy"):
        policy = parse_policy(read_input(policy_file, MAX_POLICY_SIZE, "policy"))
    bundle = read_input(bundle_file, MAX_BUNDLE_SIZE, "bundle")
    with hinted(bundle_file, "bundle"):
        tokens = [link.token for link in parse_bundle(bundle).links]
    # the chain as verify_bundle checks it, for the license and the root it binds; when it
    # fails, verify_bundle reports the failure as 'lic verify' does
    try:
        leaf: lic.VerifiedToken | None = lic.verify_chain(tokens, policy.trust, now=now).leaf
    except VerificationError:
        leaf = None
    with hinted(bundle_file, "bundle"):
        checked = verify_bundle(
            bundle, policy, now=now, use=use if leaf is None else _with_root(use, leaf.license)
        )
    if leaf is None and checked.ok:  # the same chain check cannot pass there
        raise VerificationError("bundle: the chain does not verify")
    result: dict[str, Any] = {"at": now, **checked.to_dict(), "directory": str(directory)}
    lines = [checked.effect.upper() + (f" ({checked.reason})" if checked.reason else "")]
    lines += [f"  {c.status:4s}  {c.name:14s} {c.detail}" for c in checked.checks]
    matched = leaf is None or checked.effect != "permit" or _model_step(
        directory, leaf.license, opts, result, lines)  # fmt: skip
    if checked.decision is not None and matched:
        lines += decision_lines(checked.decision)
    return result, lines


def _guard_tokens(
    directory: Path, tokens: Sequence[Path], store: TrustStore, use: lic.Use, now: int,
    opts: _DirOptions,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The steps of ``lic.oms.guard_model``, each reported."""
    chain = lic.verify_chain([read_token(p) for p in tokens], store, now=now)
    decision = lic.evaluate(chain.leaf, _with_root(use, chain.leaf.license))
    result: dict[str, Any] = {
        "at": now, "effect": decision.effect, "reason": None if decision.permitted else "use",
        "token": chain.leaf.digest.hex(), "decision": decision.to_dict(),
        "directory": str(directory),
    }  # fmt: skip
    lines = [
        decision.effect.upper(),
        f"  pass  chain          {len(chain.links)} link(s), valid at {time_text(now)}",
    ]
    if not decision.permitted or _model_step(directory, chain.leaf.license, opts, result, lines):
        lines += decision_lines(decision)
    result["revocation"] = {"checked": False, "detail": _NOT_CHECKED}
    lines.append(f"  revocation    {_NOT_CHECKED}")
    return result, lines


_GUARD_OPTIONS = [
    click.option(
        "--bundle",
        "bundle_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The license bundle (with --policy; revocation checked).",
    ),
    click.option(
        "--policy",
        "policy_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The trust policy for --bundle (JSON, SPEC 10.3).",
    ),
    click.option(
        "--token",
        "tokens",
        multiple=True,
        metavar="TOKEN",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A token (repeat for a chain, root first; with --trust; revocation NOT checked).",
    ),
    trust_option,
    keyring_option,
    click.option(
        "--manifest",
        "manifest_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The resource list ('lic model digest --json', or an OMS "
        "signature file), so that a mismatch names the files.",
    ),
    click.option(
        "--require-signature",
        "signature_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        metavar="SIG",
        help="Also require this OMS signature file (model-signing) over the bound directory, by "
        "a --publisher-key.",
    ),
    click.option(
        "--publisher-key",
        "publisher_keys",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PEM",
        help="A trusted model publisher's EC public key, PEM (repeatable; for "
        "--require-signature).",
    ),
    click.option(
        "--allow-extra",
        is_flag=True,
        help="Accept files that are not in --manifest's list (refused by default).",
    ),
    click.option(
        "--allow-ignored",
        is_flag=True,
        help="Accept files under ignored paths (.git, ...; refused by default).",
    ),
    click.option(
        "--ignore-path",
        "ignore_paths",
        multiple=True,
        metavar="PATH",
        help="Also treat this path, relative to DIR, as ignored (repeatable).",
    ),
]


def _guard_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The license, list, signature and directory options of ``lic guard``."""
    for option in reversed(_GUARD_OPTIONS):
        f = option(f)
    return f


@click.command("guard")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@_guard_options
@use_options
@at_option
@json_option
def guard_cmd(
    directory: Path, bundle_file: Path | None, policy_file: Path | None, tokens: tuple[Path, ...],
    trust_file: Path | None, keyring_dir: Path | None, manifest_file: Path | None,
    signature_file: Path | None, publisher_keys: tuple[Path, ...], allow_extra: bool,
    allow_ignored: bool, ignore_paths: tuple[str, ...], use_opts: UseOptions, at: int | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Check a model directory against its license and the use, before the model is loaded.

    The license comes from --bundle with --policy (checked OFFLINE as 'lic verify' does,
    revocation included) or from --token with --trust (revocation NOT checked). It must bind
    a model directory ('lic token issue --model-dir'). The use is decided with the
    directory's root as its model digest; when permitted, every file of DIR is hashed and
    must be the bound list, by name and digest. Files under ignored paths (.git, ...) and,
    with --manifest, files outside the list are refused unless allowed. With
    --require-signature, an OMS signature file (model-signing) must verify under a
    --publisher-key and sign the very directory the license binds; its file list then names
    the files of a mismatch. Exit 0 permit, 1 deny or a mismatch (the files are named when a
    list is given) or a failed check, 2 bad input, 3 indeterminate.
    """
    if (bundle_file is None) != (policy_file is None):
        raise click.UsageError("--bundle and --policy go together")
    if (bundle_file is None) == (not tokens):
        raise click.UsageError("give --bundle B --policy P, or --token T --trust TRUST")
    if allow_extra and manifest_file is None:
        raise click.UsageError("--allow-extra needs --manifest (the list the extra files are "
                               "outside of)")  # fmt: skip
    if (signature_file is None) != (not publisher_keys):
        raise click.UsageError("--require-signature and --publisher-key go together")
    now = int(time.time()) if at is None else at
    use = use_opts.use(now)
    manifest = read_manifest(manifest_file) if manifest_file is not None else None
    signature = None
    if signature_file is not None:
        keys = [read_input(p, 64 * 1024, f"publisher key {p}") for p in publisher_keys]
        data = read_input(signature_file, MAX_SIGNATURE_FILE, f"signature {signature_file}")
        signature = verify_signature_bundle(data, keys)
    opts = _DirOptions(manifest, signature, allow_extra, allow_ignored, ignore_paths)
    if bundle_file is not None and policy_file is not None:
        result, lines = _guard_bundle(directory, bundle_file, policy_file, use, now, opts)
    else:
        store = load_trust_store(keyring_dir, trust_file)
        result, lines = _guard_tokens(directory, tokens, store, use, now, opts)
    _finish(result, lines, as_json)
