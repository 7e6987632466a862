"""Shared test helpers: fixed keys and scenarios, reference implementations, the vectors' paths
and the `lic` runner and synthetic ledgers behind the root conftest's fixtures. Imported as
``helpers.<module>`` (pytest puts the root, then tests/, on sys.path through ``pythonpath``);
nothing in the product imports them."""

__all__: list[str] = []
