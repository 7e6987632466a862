"""ledger.bundle: license bundles, the one file a licensee hands a verifier.

The bundle format, ``create_bundle`` (from a store), ``verify_bundle`` (offline, against a
``TrustPolicy`` and a clock) and the trust policy file.
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

__all__ = [
    "BUNDLE_MAGIC",
    "MAX_BUNDLE_SIZE",
    "MAX_POLICY_SIZE",
    "POLICY_FORMAT",
    "Bundle",
    "BundleCheck",
    "BundleLink",
    "BundleResult",
    "TrustPolicy",
    "create_bundle",
    "parse_bundle",
    "parse_policy",
    "verify_bundle",
]
