"""lic.tokens: license tokens in two encodings, JWT (JWS compact, EdDSA) and CWT (COSE_Sign1),
their issuance, strict verification and unverified decoding (SPEC.md section 4).

Inside: ``_fields`` (token types and the claim checks), ``_issue`` (signing), ``_jwt`` and
``_cwt`` (the strict readers), ``_jwt_fast`` and ``_cwt_fast`` (byte-exact readers of the
shape our issuers write, which give what the strict readers give or decline), ``_verify``
(the one dispatcher: fast, then strict) and ``_cache`` (the fast readers' memo). Verification
takes the token, a trust store and ``now``; its result depends on nothing else.
"""

from ._fields import (
    CWT_TYP,
    DEFAULT_LEEWAY,
    JWT_TYP,
    MAX_LEEWAY,
    MAX_TOKEN_SIZE,
    TokenFields,
    TokenFormat,
    Trust,
    UnverifiedToken,
    VerifiedToken,
    token_bytes,
    token_digest,
)
from ._issue import issue, sign_token
from ._verify import decode_unverified, verify, verify_with_key

__all__ = [
    "CWT_TYP",
    "DEFAULT_LEEWAY",
    "JWT_TYP",
    "MAX_LEEWAY",
    "MAX_TOKEN_SIZE",
    "TokenFields",
    "TokenFormat",
    "Trust",
    "UnverifiedToken",
    "VerifiedToken",
    "decode_unverified",
    "issue",
    "sign_token",
    "token_bytes",
    "token_digest",
    "verify",
    "verify_with_key",
]
