"""The model host's guard: check a model directory against the license that binds it, decide
the use, and hand out the files that were hashed (SPEC 15.7)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from keys.errors import DeniedError, ProofMismatchError

from .._chain import Chain, verify_chain
from .._evaluate import Decision, Use, evaluate
from .._model import License
from ..tokens import DEFAULT_LEEWAY, Trust, VerifiedToken
from ._bind import bound_directory, check_resources
from ._manifest import HASH_TYPE, Resource, normalize_ignore_paths, order_resources, walk
from ._signature import OmsSignature
from ._verify import ModelMismatchError, VerifiedModel, hold_all, verify_directory


def check_signature(signature: OmsSignature, license: License) -> None:
    """Refuse (ProofMismatchError) an OMS signature that does not sign the very directory
    ``license`` binds: the same root and the same resource list (names included)."""
    binding = bound_directory(license)
    try:
        check_resources(signature.resources, binding)
    except ProofMismatchError:
        raise ProofMismatchError(
            f"the OMS signature is over another model ({signature.subject_name!r}, "
            f"sha256:{signature.root}) than the license binds (sha256:{binding.root})"
        ) from None


def open_bound_directory(
    directory: str | os.PathLike[str],
    license: License,
    *,
    manifest: Sequence[Resource] | None = None,
    signature: OmsSignature | None = None,
    allow_extra: bool = False,
    allow_ignored: bool = False,
    ignore_paths: Iterable[str] = (),
    workers: int | None = None,
) -> VerifiedModel:
    """Check ``directory`` against the directory ``license`` binds (``model.manifest``) and
    return its files held open, as ``verify_directory`` does.

    A license that binds no directory is refused (ProofMismatchError). With ``manifest`` (the
    resource list, e.g. from ``lic model digest --json`` or an OMS signature), the list must be
    the one the license binds, and a difference names every changed, missing, extra and
    ignored file (ModelMismatchError); extra or ignored files pass only when allowed. Without
    it the directory's own manifest must equal the binding: files under ignored paths are
    refused unless ``allow_ignored`` (ModelMismatchError names them), and any other difference
    is a ProofMismatchError that cannot name the file (give the manifest for that).

    ``signature`` (an ``OmsSignature`` from ``verify_signature_bundle``, i.e. verified under a
    trusted publisher's key) must sign the very directory the license binds (its root and
    resource list), else ProofMismatchError; its resources then serve as the manifest when
    none is given, and its ignored paths are ignored too."""
    binding = bound_directory(license)
    if signature is not None:
        check_signature(signature, license)
        manifest = signature.resources if manifest is None else manifest
        ignore_paths = (*ignore_paths, *signature.serialization.ignore_paths)
    if manifest is not None:
        resources = tuple(manifest)
        check_resources(resources, binding)
        return verify_directory(
            directory, resources, binding.root, allow_extra=allow_extra,
            allow_ignored=allow_ignored, ignore_paths=ignore_paths, workers=workers,
        )  # fmt: skip
    listing = walk(directory, normalize_ignore_paths(ignore_paths))
    if listing.ignored and not allow_ignored:
        raise ModelMismatchError(ignored=listing.ignored)
    held = hold_all(listing.files, workers)
    by_name = {h.file.name: h for h in held}
    resources = order_resources(Resource(h.file.name, HASH_TYPE, h.file.digest) for h in held)
    model = VerifiedModel(Path(directory), binding.root, [by_name[r.name] for r in resources])
    try:
        check_resources(resources, binding)
    except ProofMismatchError:
        model.close()
        raise ProofMismatchError(
            f"model directory {directory}: its files are not the ones the license binds "
            "(give the manifest, e.g. --manifest, to name the files that differ)"
        ) from None
    return model


@dataclass(frozen=True)
class GuardResult:
    """What ``guard_model`` decided: the verified ``chain``, the ``decision`` on the use (its
    model digest the directory's root), and the directory's verified files (``files``) only
    when the use is permitted. Revocation is not part of it: check it apart (a bundle)."""

    chain: Chain
    decision: Decision
    files: VerifiedModel | None

    @property
    def token(self) -> VerifiedToken:
        """The license that applies: the chain's leaf."""
        return self.chain.leaf

    @property
    def effect(self) -> str:
        """``permit``, ``deny`` or ``indeterminate``."""
        return self.decision.effect

    def model(self) -> VerifiedModel:
        """The verified files; DeniedError unless the use is permitted."""
        if self.files is None:
            reasons = "; ".join(f"{r.field}: {r.message}" for r in self.decision.reasons)
            raise DeniedError(f"the license does not permit this use ({self.effect}): {reasons}")
        return self.files


def guard_model(
    directory: str | os.PathLike[str],
    tokens: Sequence[bytes | str],
    trust: Trust,
    use: Use,
    *,
    now: int,
    leeway: int = DEFAULT_LEEWAY,
    manifest: Sequence[Resource] | None = None,
    signature: OmsSignature | None = None,
    allow_extra: bool = False,
    allow_ignored: bool = False,
    ignore_paths: Iterable[str] = (),
    workers: int | None = None,
) -> GuardResult:
    """Verify the token chain (root first) against ``trust`` at ``now``, decide ``use`` with
    the bound directory's root as its model digest (when the use names none), and, when it is
    permitted, check ``directory`` with ``open_bound_directory`` (with ``manifest`` and
    ``signature`` as it takes them) and keep its files open.

    Raises what ``verify_chain`` raises, ProofMismatchError for a license that binds no
    directory, ModelMismatchError (naming the files) or ProofMismatchError for a directory that
    does not match. A deny or indeterminate decision is returned, with no files. Revocation is
    NOT checked here."""
    chain = verify_chain(tokens, trust, now=now, leeway=leeway)
    binding = bound_directory(chain.leaf.license)
    if use.model_digest is None:
        use = dataclasses.replace(use, model_digest=binding.root)
    decision = evaluate(chain.leaf, use)
    if not decision.permitted:
        return GuardResult(chain, decision, None)
    files = open_bound_directory(
        directory, chain.leaf.license, manifest=manifest, signature=signature,
        allow_extra=allow_extra,
        allow_ignored=allow_ignored, ignore_paths=ignore_paths, workers=workers,
    )  # fmt: skip
    return GuardResult(chain, decision, files)
