"""cli: the `lic` command. Parses arguments, calls one library function, formats the result."""

__all__: list[str] = []
