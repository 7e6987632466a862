"""lic.oms: the OpenSSF Model Signing (OMS) manifest of a model directory (SPEC.md section 15).

``manifest_of(directory)`` computes what model-signing 1.1 signs by default: every regular
file (top-level ``.git``, ``.gitattributes``, ``.github``, ``.gitignore`` ignored; symbolic
links, special files and names that are not UTF-8 refused), its SHA-256, the resources
ordered by path components, and the root: SHA-256 over the raw file digests in that order.
The result says when ordering names as plain strings would give another root.

For a model host, ``verify_directory(directory, resources, root)`` checks a directory
against an expected manifest and returns a ``VerifiedModel``: every listed file opened once,
hashed from that descriptor and kept open, so that ``VerifiedModel.open`` and
``VerifiedModel.read_bytes`` read the very file that was hashed; a difference raises
``ModelMismatchError`` naming the changed, missing, extra and ignored files.

``verify_signature_bundle(data, publisher_keys)`` verifies an OMS signature file (a Sigstore
bundle with a DSSE envelope, signed with a publisher's EC key) and returns the
``OmsSignature``: the signed subject name and root, resources and serialization, and the hint
of the key that verified; ``verify_certificate_bundle(data, roots, at=...)`` does the same for a
file signed with a certificate chain, which must lead to a configured root.

A license binds a directory with ``model.manifest`` (``lic.DirectoryBinding``, SPEC 15.6):
``directory_binding(manifest)`` makes it, ``resources_digest`` is the digest of a resource
list it carries. For a model host (SPEC 15.7), ``open_bound_directory(directory, license)``
checks a directory against the license that binds it and returns its files held open, and
``guard_model(directory, tokens, trust, use, now=...)`` verifies the token chain, decides the
use with the directory's root as its model digest and, when permitted, opens the files
(``GuardResult``). Revocation is checked apart (a bundle: ``lic guard --bundle``).

Inside: ``_manifest`` (walk, hash, order, root), ``_verify`` (the check and the held
files), ``_signature`` (OMS signature files), ``_certificate`` (their certificate chains),
``_bind`` (the binding and its resource-list digest) and ``_guard`` (the host's check). OMS
signature files on the ledger (``lic ledger attest --oms``) build on this package.
"""

from ._bind import bound_directory, check_resources, directory_binding, resources_digest
from ._certificate import root_certificate_pem, uses_certificate_chain, verify_certificate_bundle
from ._guard import GuardResult, check_signature, guard_model, open_bound_directory
from ._manifest import (
    BLOCK_SIZE,
    DEFAULT_IGNORE_PATHS,
    HASH_TYPE,
    METHOD,
    ORDERING,
    ModelManifest,
    Resource,
    Serialization,
    manifest_of,
    order_resources,
    path_order_key,
    root_of,
)
from ._signature import (
    MAX_SIGNATURE_FILE,
    PREDICATE_TYPE,
    OmsSignature,
    publisher_key_hint,
    publisher_key_pem,
    signed_subject_unverified,
    verify_signature_bundle,
)
from ._verify import (
    ModelMismatchError,
    VerifiedFile,
    VerifiedModel,
    resources_from_json,
    verify_directory,
)

__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_IGNORE_PATHS",
    "HASH_TYPE",
    "MAX_SIGNATURE_FILE",
    "METHOD",
    "ORDERING",
    "PREDICATE_TYPE",
    "GuardResult",
    "ModelManifest",
    "ModelMismatchError",
    "OmsSignature",
    "Resource",
    "Serialization",
    "VerifiedFile",
    "VerifiedModel",
    "bound_directory",
    "check_resources",
    "check_signature",
    "directory_binding",
    "guard_model",
    "manifest_of",
    "open_bound_directory",
    "order_resources",
    "path_order_key",
    "publisher_key_hint",
    "publisher_key_pem",
    "resources_digest",
    "resources_from_json",
    "root_certificate_pem",
    "root_of",
    "signed_subject_unverified",
    "uses_certificate_chain",
    "verify_certificate_bundle",
    "verify_directory",
    "verify_signature_bundle",
]
