"""libsodium's blocklist of small-order and non-canonical Ed25519 public keys (ed25519_ref10.c,
``ge25519_has_small_order``), copied by hand as an independent source: seven y-encodings, each
standing for two 32-byte encodings (both sign bits). Used by the small-order and verify_raw
tests."""

LIBSODIUM_BLOCKLIST = [
    # 0 (order 4)
    "0000000000000000000000000000000000000000000000000000000000000000",
    # 1 (order 1)
    "0100000000000000000000000000000000000000000000000000000000000000",
    # 2707385501144840649318225287225658788936804267575313519463743609750303402022 (order 8)
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    # 55188659117513257062467267217118295137698188065244968500265048394206261417927 (order 8)
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    # p-1 (order 2)
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    # p (=0, order 4)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    # p+1 (=1, order 1)
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


def _with_sign_variants() -> list[bytes]:
    out = []
    for h in LIBSODIUM_BLOCKLIST:
        raw = bytes.fromhex(h)
        out.append(raw)
        out.append(raw[:31] + bytes([raw[31] | 0x80]))
    return out


BAD_KEYS = _with_sign_variants()
P = 2**255 - 19
