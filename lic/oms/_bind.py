"""A license's binding to a model directory (SPEC 15.6): the resource-list digest, the binding
of a manifest, and the check of a resource list against a binding."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from keys.errors import MalformedError, ProofMismatchError

from .. import cbor
from .._model import DirectoryBinding, License
from ._manifest import HASH_TYPE, ModelManifest, Resource, root_of


def resources_digest(resources: Iterable[Resource]) -> str:
    """The hex SHA-256 of the resource list's deterministic CBOR: an array, in the order
    given, of ``[name (text), algorithm (text), digest (32-byte string)]``."""
    items = []
    for r in resources:
        if r.algorithm != HASH_TYPE:
            raise MalformedError(f"{r.name}: not a sha256 resource")
        root_of([r])  # checks the digest's form
        items.append([r.name, r.algorithm, bytes.fromhex(r.digest)])
    return hashlib.sha256(cbor.encode(items)).hexdigest()


def directory_binding(manifest: ModelManifest) -> DirectoryBinding:
    """The ``model.manifest`` member a license carries for ``manifest`` (from
    ``manifest_of``); the license's ``model.sha256`` is its root."""
    return DirectoryBinding(root=manifest.root, resources=resources_digest(manifest.resources))


def bound_directory(license: License) -> DirectoryBinding:
    """The directory binding of ``license``; a license that binds no directory is refused
    (ProofMismatchError): nothing says which files it covers."""
    binding = license.model.manifest
    if binding is None:
        raise ProofMismatchError(
            f"the license binds model {license.model.name!r} by sha256 only, not a model "
            "directory (model.manifest); issue it with 'lic token issue --model-dir'"
        )
    return binding


def check_resources(resources: Sequence[Resource], binding: DirectoryBinding) -> None:
    """Refuse (ProofMismatchError) a resource list that is not the one ``binding`` names:
    its root and its list digest must both match."""
    if root_of(resources) != binding.root or resources_digest(resources) != binding.resources:
        raise ProofMismatchError(
            "the manifest given is not the one the license binds (its root or its resource "
            "list differs)"
        )
