"""ledger.bundle: license bundles, the one file a licensee hands a verifier.

The bundle format, ``create_bundle`` (from a store), ``verify_bundle`` (offline, against a
``TrustPolicy`` and a clock), ``bundle_status`` (its revocation evidence for a chain a
verifier checked itself) and the trust policy file.
"""

from ._bundle import (
    BUNDLE_MAGIC,
    MAX_BUNDLE_SIZE,
    Bundle,
    BundleCheck,
    BundleLink,
    BundleResult,
    create_bundle,
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

__all__ = [
    "BUNDLE_MAGIC",
    "MAX_BUNDLE_SIZE",
    "MAX_POLICY_SIZE",
    "POLICY_FORMAT",
    "Bundle",
    "BundleCheck",
    "BundleLink",
    "BundleResult",
    "BundleStatus",
    "TrustPolicy",
    "bundle_status",
    "create_bundle",
    "parse_bundle",
    "parse_policy",
    "verify_bundle",
]
