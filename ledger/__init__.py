"""ledger: the append-only, hash-chained Merkle ledger (built by the ledger issues)."""

__all__: list[str] = []
