"""lic: license tokens. Deterministic CBOR and COSE_Sign1 live in ``lic.cbor`` and ``lic.cose``."""

__all__: list[str] = []
