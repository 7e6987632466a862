"""ledger.bundle: license bundles, the one file a licensee hands a verifier.

The bundle format, ``create_bundle`` (from a store), ``verify_bundle`` (offline, against a
``TrustPolicy`` and a clock), ``bundle_status`` (its revocation evidence for a chain a
verifier checked itself), bundle updates (``create_update``: the evidence that ties a bundle
to a newer checkpoint the verifier holds) and the trust policy file.
"""

from ._bundle import (
    BUNDLE_MAGIC,
    MAX_BUNDLE_SIZE,
    Bundle,
    BundleCheck,
    BundleLink,
    BundleResult,
    ProofSource,
    bundle_links,
    create_bundle,
    create_update,
    encode_bundle,
    parse_bundle,
    verify_bundle,
)
from ._policy import (
    MAX_POLICY_SIZE,
    POLICY_FORMAT,
    TrustPolicy,
    parse_policy,
)
from ._status import BundleStatus, bundle_status
from ._update import (
    MAX_UPDATE_SIZE,
    UPDATE_MAGIC,
    BundleUpdate,
    encode_update,
    parse_update,
)

__all__ = [
    "BUNDLE_MAGIC",
    "MAX_BUNDLE_SIZE",
    "MAX_POLICY_SIZE",
    "MAX_UPDATE_SIZE",
    "POLICY_FORMAT",
    "UPDATE_MAGIC",
    "Bundle",
    "BundleCheck",
    "BundleLink",
    "BundleResult",
    "BundleStatus",
    "BundleUpdate",
    "ProofSource",
    "TrustPolicy",
    "bundle_links",
    "bundle_status",
    "create_bundle",
    "create_update",
    "encode_bundle",
    "encode_update",
    "parse_bundle",
    "parse_policy",
    "parse_update",
    "verify_bundle",
]
