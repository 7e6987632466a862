"""lic: license tokens (JWT and CWT), the license vocabulary, evaluation and delegation chains.

Deterministic CBOR and COSE_Sign1 live in ``lic.cbor`` and ``lic.cose``; tokens (issuance,
verification, unverified decoding) in ``lic.tokens``. Verification and evaluation take bytes,
values and ``now`` and never read the clock, files or the network; their results depend only
on those inputs. Both keep bounded memos of work already done on equal bytes or values
(``lic.tokens``: checked headers, parsed licenses, validated holder keys; evaluation: the
code-list part of a decision), which make a repeat faster and cannot change a result.
``load_license`` parses bytes a caller read.
"""

from ._chain import Chain, NarrowingError, delegate, narrowing_violations, verify_chain
from ._evaluate import Decision, Effect, Reason, Use, evaluate
from ._model import (
    DirectoryBinding,
    License,
    Limits,
    ModelBinding,
    Permit,
    Prohibit,
    Rate,
    Sublicense,
    Terms,
    load_license,
    parse_duration,
)
from ._present import MAX_PRESENTATION_LIFETIME, Presentation, present, verify_presentation
from ._vocab import CODE_LISTS, countries, normalize_region, region_groups, vocabulary
from .tokens import (
    CWT_TYP,
    JWT_TYP,
    MAX_TOKEN_SIZE,
    TokenFields,
    TokenFormat,
    Trust,
    UnverifiedToken,
    VerifiedToken,
    decode_unverified,
    issue,
    token_digest,
    verify,
    verify_with_key,
)

__all__ = [
    "CODE_LISTS",
    "CWT_TYP",
    "JWT_TYP",
    "MAX_PRESENTATION_LIFETIME",
    "MAX_TOKEN_SIZE",
    "Chain",
    "Decision",
    "DirectoryBinding",
    "Effect",
    "License",
    "Limits",
    "ModelBinding",
    "NarrowingError",
    "Permit",
    "Presentation",
    "Prohibit",
    "Rate",
    "Reason",
    "Sublicense",
    "Terms",
    "TokenFields",
    "TokenFormat",
    "Trust",
    "UnverifiedToken",
    "Use",
    "VerifiedToken",
    "countries",
    "decode_unverified",
    "delegate",
    "evaluate",
    "issue",
    "load_license",
    "narrowing_violations",
    "normalize_region",
    "parse_duration",
    "present",
    "region_groups",
    "token_digest",
    "verify",
    "verify_chain",
    "verify_presentation",
    "verify_with_key",
    "vocabulary",
]
