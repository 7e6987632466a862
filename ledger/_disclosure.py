"""Small-cell suppression for the transparency report. Pure.

A report publishes counts ("cells"). Some cells are linked by an additive constraint: the cells of
a breakdown add up to its total ("a line"). A cell with 1 <= count < k is suppressed (primary
suppression). Because a reader knows every line's published total, suppressing one cell alone
protects nothing (total minus the published cells gives it back), so more cells are suppressed
(secondary suppression) until every line is safe:

* a line whose total is published is safe when every suppressed cell in it keeps at least two
  values consistent with the published numbers, the line's equation and what a reader knows of
  each suppressed cell from the rule itself (a primary cell lies in [1, k-1], a secondary cell in
  [k, infinity));
* a line whose total is suppressed is safe when at least one of its cells is suppressed (so the
  total cannot be rebuilt by addition).

An unsafe line suppresses its smallest published positive cell (ties by cell id); when none is
left it suppresses its total, which is itself a cell of other lines. Lines share cells (one total
is the total of several breakdowns), and the rule runs to a fixed point over all lines at once,
so a cell hidden in one table cannot be recovered from another. Zero counts are published, and so
are "public" cells: whole-window totals, which anyone can count in the public ledger anyway. When
a line with a public total cannot be made safe, all its positive cells are suppressed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Disclosure"]

_INF = 1 << 62


@dataclass
class Disclosure:
    """A set of cells and the lines between them; ``solve`` decides which cells are suppressed."""

    k: int
    values: dict[str, int] = field(default_factory=dict)
    lines: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    public: set[str] = field(default_factory=set)
    suppressed: set[str] = field(default_factory=set)
    _solved: bool = False

    def cell(self, cid: str, value: int, public: bool = False) -> str:
        """Register a count. A ``public`` cell (a whole-window total) is never suppressed."""
        if cid in self.values and self.values[cid] != value:
            raise ValueError(f"cell {cid} registered with two values")
        self.values[cid] = value
        if public:
            self.public.add(cid)
        return cid

    def line(self, cells: Iterable[str], total: str) -> None:
        """Declare that ``cells`` add up to ``total`` (all registered already)."""
        members = tuple(cells)
        if sum(self.values[c] for c in members) != self.values[total]:
            raise ValueError(f"line {total} does not add up")
        self.lines.append((members, total))

    def _primary(self, cid: str) -> bool:
        return 1 <= self.values[cid] < self.k and cid not in self.public

    def _bounds(self, cid: str) -> tuple[int, int]:
        return (1, self.k - 1) if self._primary(cid) else (self.k, _INF)

    def _line_safe(self, members: tuple[str, ...], total: str) -> bool:
        hidden = [c for c in members if c in self.suppressed]
        if total in self.suppressed:
            return bool(hidden) or all(self.values[c] == 0 for c in members)
        if not hidden:
            return True
        rest = self.values[total] - sum(self.values[c] for c in members if c not in self.suppressed)
        bounds = [self._bounds(c) for c in hidden]
        for i, (lo_c, hi_c) in enumerate(bounds):
            others = bounds[:i] + bounds[i + 1 :]
            lo_others = sum(b[0] for b in others)
            hi_others = _INF if any(b[1] >= _INF for b in others) else sum(b[1] for b in others)
            lo = max(lo_c, rest - hi_others)
            hi = min(hi_c, rest - lo_others)
            if hi <= lo:
                return False
        return True

    def solve(self) -> None:
        """Primary then secondary suppression, to a fixed point."""
        self.suppressed = {c for c in self.values if self._primary(c)}
        changed = True
        while changed:
            changed = False
            for members, total in self.lines:
                while not self._line_safe(members, total):
                    pick = sorted(
                        (self.values[c], c)
                        for c in members
                        if c not in self.suppressed and c not in self.public and self.values[c] > 0
                    )
                    if pick:
                        self.suppressed.add(pick[0][1])
                    elif total not in self.suppressed and total not in self.public:
                        self.suppressed.add(total)
                    else:
                        break
                    changed = True
        self._solved = True

    def get(self, cid: str) -> int | None:
        """The published count of a cell, or None when it is suppressed."""
        if not self._solved:
            raise ValueError("solve() before reading cells")
        return None if cid in self.suppressed else self.values[cid]

    def out(self, cid: str) -> dict[str, int | bool | None]:
        """A cell as the report prints it: {"count": n | null, "suppressed": bool}."""
        value = self.get(cid)
        return {"count": value, "suppressed": value is None}
