"""Timing, query counting and the table of ``make bench``.

Nothing here knows about plugins: a scenario is a name and, per system, a
function that returns a :class:`Timing` (or raises, which the table shows as
``error: ...`` in that system's cell).
"""

from __future__ import annotations

import gc
import statistics
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.test.utils import CaptureQueriesContext

#: The systems compared, in column order: (key, column title).
SYSTEMS: tuple[tuple[str, str], ...] = (
    ("ours", "wagtail-plugin-system"),
    ("dps", "django-plugin-system"),
    ("baseline", "direct instantiation"),
)

NOT_APPLICABLE = "n/a"


class BenchError(Exception):
    """A scenario produced a wrong result or could not be set up."""


@dataclass(frozen=True)
class Timing:
    """Seconds per call over ``rounds`` rounds of ``number`` calls, and queries per call."""

    median: float
    low: float
    high: float
    queries: int
    rounds: int
    number: int


@dataclass
class Cell:
    """One system's result for one scenario: a timing, ``n/a`` or an error."""

    timing: Timing | None = None
    note: str = ""
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.note.startswith("error")


@dataclass
class Row:
    scenario: str
    cells: dict[str, Cell] = field(default_factory=dict)


#: Repetitions are multiplied by this (``--scale``); never below one call and three rounds.
SCALE = [1.0]


def measure(
    func: Callable[[], object],
    *,
    number: int,
    rounds: int = 7,
    setup: Callable[[], object] | None = None,
    check: Callable[[object], bool] | None = None,
    warmup: bool = True,
) -> Timing:
    """Time ``func``: ``rounds`` rounds of ``number`` calls; per-call median, min and max.

    ``setup`` runs before every call, outside the timing and the query count
    (for "cold" scenarios). ``check`` validates the result of the first call;
    a wrong result raises :class:`BenchError`. The queries of one call are
    counted with ``CaptureQueriesContext`` on a call of its own, which is not
    timed (and doubles as the warm-up when ``warmup`` is false).
    """
    number = max(1, round(number * SCALE[0]))
    rounds = max(3, round(rounds * SCALE[0]))
    if warmup:
        if setup is not None:
            setup()
        func()
    if setup is not None:
        setup()
    result, queries = count_queries(func)
    if check is not None and not check(result):
        raise BenchError(f"unexpected result {result!r}")
    # Unlike timeit, garbage collection stays on: its pauses are part of what an
    # allocation-heavy operation (a sync, a page) costs in a real process. Each
    # measurement starts from a collected heap, so it does not pay for earlier ones.
    gc.collect()
    per_call = _rounds(func, setup, number, rounds)
    return Timing(
        median=statistics.median(per_call),
        low=min(per_call),
        high=max(per_call),
        queries=queries,
        rounds=rounds,
        number=number,
    )


def _rounds(
    func: Callable[[], object],
    setup: Callable[[], object] | None,
    number: int,
    rounds: int,
) -> list[float]:
    """Run the timed rounds; return the time per call of each round."""
    clock = time.perf_counter
    per_call: list[float] = []
    for _ in range(rounds):
        if setup is None:
            start = clock()
            for _ in range(number):
                func()
            elapsed = clock() - start
        else:
            elapsed = 0.0
            for _ in range(number):
                setup()
                start = clock()
                func()
                elapsed += clock() - start
        per_call.append(elapsed / number)
    return per_call


def count_queries(func: Callable[[], object]) -> tuple[object, int]:
    """Call ``func`` once; return its result and the number of SQL queries it ran.

    The connection's query log keeps only the last 9,000 queries and outlives a
    ``CaptureQueriesContext``, so the count runs on a fresh, unbounded log.
    """
    saved = connection.queries_log
    connection.queries_log = deque()
    try:
        with CaptureQueriesContext(connection) as context:
            result = func()
        return result, len(context)
    finally:
        connection.queries_log = saved


def run_cell(produce: Callable[[], Timing] | str | None) -> Cell:
    """Run one system's scenario; never raise."""
    if produce is None:
        return Cell(note=NOT_APPLICABLE)
    if isinstance(produce, str):  # the system could not be set up: its error, as given
        return Cell(note="error", detail=produce)
    try:
        return Cell(timing=produce())
    except Exception as exc:  # any failure is reported in the cell, not raised
        summary = f"{type(exc).__name__}: {exc}".strip()
        return Cell(note="error", detail=f"{summary}\n{traceback.format_exc()}")


# -- formatting ------------------------------------------------------------------------------


def format_seconds(seconds: float) -> str:
    """A duration with three significant digits and a readable unit."""
    unit, value = "ns", seconds * 1e9
    for name, size in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= size:
            unit, value = name, seconds / size
            break
    if value >= 100:
        return f"{value:.0f} {unit}"
    if value >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def format_cell(cell: Cell) -> tuple[str, str]:
    """(``median [min-max]``, ``queries``) for one cell."""
    if cell.timing is None:
        if cell.failed:
            first_line = cell.detail.splitlines()[0] if cell.detail else ""
            return f"error: {first_line}", ""
        return cell.note, ""
    t = cell.timing
    return (
        f"{format_seconds(t.median)} [{format_seconds(t.low)}-{format_seconds(t.high)}]",
        str(t.queries),
    )


def ratio(numerator: Cell, denominator: Cell, *, faster: bool) -> str:
    """How many times faster (``faster``) or slower ``ours`` is than the other cell."""
    if numerator.timing is None or denominator.timing is None:
        return ""
    a, b = numerator.timing.median, denominator.timing.median
    if a <= 0 or b <= 0:
        return ""
    value = a / b
    if faster:
        return f"{value:.1f}x faster" if value >= 1 else f"{1 / value:.1f}x slower"
    return f"{value:.1f}x slower" if value >= 1 else f"{1 / value:.1f}x faster"


def table(rows: Sequence[Row], titles: dict[str, str], *, markdown: bool) -> str:
    """The results: per system median [min-max] and queries, then the two ratios."""
    header = ["scenario"]
    for key, _ in SYSTEMS:
        header += [titles[key], "q"]
    header += ["ours vs dps", "ours vs baseline"]
    body: list[list[str]] = []
    for row in rows:
        line = [row.scenario]
        for key, _ in SYSTEMS:
            text, queries = format_cell(row.cells.get(key, Cell(note=NOT_APPLICABLE)))
            if not markdown and len(text) > 38:
                text = text[:37] + "…"
            line += [text, queries]
        ours = row.cells.get("ours", Cell())
        line.append(ratio(row.cells.get("dps", Cell()), ours, faster=True))
        line.append(ratio(ours, row.cells.get("baseline", Cell()), faster=False))
        body.append(line)
    if markdown:
        numeric = {i for i in range(1, len(header)) if header[i] == "q"}
        out = ["| " + " | ".join(header) + " |"]
        out.append(
            "|" + "|".join("---:" if i in numeric else "---" for i in range(len(header))) + "|"
        )
        for line in body:
            cells = [text.replace("|", "\\|") for text in line]
            out.append("| " + " | ".join(cells) + " |")
        return "\n".join(out)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    out = []
    for n, line in enumerate([header, *body]):
        parts = []
        for i, text in enumerate(line):
            right = header[i] == "q"
            parts.append(text.rjust(widths[i]) if right else text.ljust(widths[i]))
        out.append("  ".join(parts).rstrip())
        if n == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def errors(rows: Sequence[Row], titles: dict[str, str]) -> str:
    """Every error in full (the table shows the first line only)."""
    out = []
    for row in rows:
        for key, _ in SYSTEMS:
            cell = row.cells.get(key)
            if cell is not None and cell.failed:
                out.append(f"* {row.scenario} / {titles[key]}:\n{cell.detail.rstrip()}")
    return "\n".join(out)
