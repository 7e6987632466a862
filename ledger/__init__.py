"""ledger: the append-only, hash-chained RFC 9162 Merkle ledger with C2SP signed checkpoints.

The library lives in sub-packages; imports point down only::

    tlog <- entries <- state <- store <- {audit <- report, bundle, witness}

``ledger.tlog``: pure transparency-log primitives; ``ledger.entries``: what the log records;
``ledger.state``: derived state and replay; ``ledger.store``: the SQLite edge;
``ledger.audit``, ``ledger.bundle``, ``ledger.witness``, ``ledger.report`` above it. Import
names from those packages.
"""
