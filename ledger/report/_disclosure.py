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
left, the lines through its suppressed cells are tried, ring by ring. Only when no ring has one
does it suppress the smallest published total of those lines, even a "public" one (a
whole-window total, which anyone could count in the public ledger, or a never-complement cell):
a table must not give back a value it hides, so the last resort is to hide the total too.
Lines share cells (one total is the total of several breakdowns), and the rule runs to a
fixed point over all lines at once, so a cell hidden in one table cannot be recovered from
another. Zero counts are published. Only when nothing is left to hide anywhere near is a line
recorded as unprotectable.
"""

from __future__ import annotations

from collections import deque
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
    no_secondary: set[str] = field(default_factory=set)
    unsafe: set[str] = field(default_factory=set)  # totals of lines that could not be protected
    suppressed: set[str] = field(default_factory=set)
    _solved: bool = False

    def cell(self, cid: str, value: int, public: bool = False, secondary: bool = True) -> str:
        """Register a count. A ``public`` cell (a whole-window total) is never suppressed; a
        cell with ``secondary=False`` is suppressed only when it is small itself."""
        if cid in self.values and self.values[cid] != value:
            raise ValueError(f"cell {cid} registered with two values")
        self.values[cid] = value
        if public:
            self.public.add(cid)
        if not secondary:
            self.no_secondary.add(cid)
        return cid

    def line(self, cells: Iterable[str], total: str) -> None:
        """Declare that ``cells`` add up to ``total`` (all registered already)."""
        members = tuple(cells)
        if sum(self.values[c] for c in members) != self.values[total]:
            raise ValueError(f"line {total} does not add up")
        self.lines.append((members, total))

    def _primary(self, cid: str) -> bool:
        return 1 <= self.values[cid] < self.k and cid not in self.public

    def bounds(self) -> dict[str, tuple[int, int]]:
        """What a reader can infer about the cells of lines that hide something.

        A published cell is exact; a suppressed one starts in [1, k-1] (primary) or [k, inf)
        (secondary) -- the reader knows the rule -- and every line narrows its members and
        total, to a fixed point (a worklist over the lines whose cells changed). Lines without a
        suppressed cell carry no information a reader lacks and are skipped.
        """
        active = [i for i, (ms, t) in enumerate(self.lines) if self._hides(ms, t)]
        b: dict[str, tuple[int, int]] = {}
        on: dict[str, list[int]] = {}
        for i in active:
            members, total = self.lines[i]
            for c in (*members, total):
                v = self.values[c]
                b[c] = (v, v) if c not in self.suppressed else self._start(c)
                on.setdefault(c, []).append(i)
        queue, queued = deque(active), set(active)
        while queue:
            i = queue.popleft()
            queued.discard(i)
            members, total = self.lines[i]
            lo_sum = sum(b[m][0] for m in members)
            hi_sum = min(_INF, sum(b[m][1] for m in members))
            changed = []
            t_lo, t_hi = max(b[total][0], lo_sum), min(b[total][1], hi_sum)
            if (t_lo, t_hi) != b[total]:
                b[total] = (t_lo, t_hi)
                changed.append(total)
            for m in members:
                others_lo = lo_sum - b[m][0]
                others_hi = _INF if hi_sum >= _INF else hi_sum - b[m][1]
                lo = max(b[m][0], t_lo - others_hi)
                hi = min(b[m][1], t_hi - others_lo)
                if (lo, hi) != b[m]:
                    b[m] = (lo, hi)
                    changed.append(m)
            for c in changed:
                for j in on[c]:
                    if j not in queued:
                        queued.add(j)
                        queue.append(j)
        return b

    def _hides(self, members: tuple[str, ...], total: str) -> bool:
        return total in self.suppressed or any(m in self.suppressed for m in members)

    def _start(self, cid: str) -> tuple[int, int]:
        return (1, self.k - 1) if self._primary(cid) else (self.k, _INF)

    def _pinned(self) -> list[str]:
        """Suppressed cells whose value a reader can work out: a small one would be exposed,
        and a complement that can be worked out protects nothing."""
        b = self.bounds()
        return sorted(c for c in self.suppressed if c in b and b[c][1] <= b[c][0])

    def solve(self) -> None:
        """Primary then secondary suppression, until no small cell can be worked out.

        Each round finds every pinned small cell and, for each, hides one more cell near it
        (``_complement``); then it looks again.
        """
        lines_of: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for members, total in self.lines:
            for c in (*members, total):
                lines_of.setdefault(c, []).append((members, total))
        self.suppressed = {c for c in self.values if self._primary(c)}
        while True:
            pinned = self._pinned()
            touched: set[tuple[tuple[str, ...], str]] = set()
            for cell in pinned:
                if touched.intersection(lines_of.get(cell, [])):
                    continue  # a cell hidden this round may have freed it: look again first
                hide = self._complement(cell, lines_of)
                if hide is not None:
                    self.public.discard(hide)
                    self.no_secondary.discard(hide)
                    self.suppressed.add(hide)
                    touched.update(lines_of.get(hide, []))
            if not touched:  # nothing left to hide near any pinned cell
                break
        self.unsafe = {t for c in self._pinned() for _, t in lines_of.get(c, [])}
        self._solved = True

    def _complement(
        self, cell: str, lines_of: dict[str, list[tuple[tuple[str, ...], str]]]
    ) -> str | None:
        """The cell to hide so that ``cell`` is no longer pinned: on the lines through it, the
        smallest published positive cell that may be a complement; else the same on the lines
        through those lines' suppressed cells, ring by ring; only when no ring has one, the
        smallest published total of the rings' lines, nearest ring first (public or not).
        None when nothing is left to hide."""
        rings: list[list[tuple[tuple[str, ...], str]]] = []
        near = list(lines_of.get(cell, []))
        seen = set(near)
        while near:
            rings.append(near)
            cells = {c for ms, t in near for c in (*ms, t) if c not in self.suppressed}
            candidates = sorted(
                (self.values[c], c)
                for c in cells
                if c not in self.public and c not in self.no_secondary and self.values[c] > 0
            )
            if candidates:
                return candidates[0][1]
            ring = {c for ms, t in near for c in (*ms, t) if c in self.suppressed}
            near = [ln for c in sorted(ring) for ln in lines_of.get(c, []) if ln not in seen]
            seen.update(near)
        for lines in rings:
            totals = {t for _, t in lines if t not in self.suppressed and self.values[t] > 0}
            if totals:
                return min((self.values[t], t) for t in totals)[1]
        return None

    def get(self, cid: str) -> int | None:
        """The published count of a cell, or None when it is suppressed."""
        if not self._solved:
            raise ValueError("solve() before reading cells")
        return None if cid in self.suppressed else self.values[cid]

    def out(self, cid: str) -> dict[str, int | bool | None]:
        """A cell as the report prints it: {"count": n | null, "suppressed": bool}."""
        value = self.get(cid)
        return {"count": value, "suppressed": value is None}
