"""Timing, query counting and the table of ``make bench``.

Nothing here knows about plugins. A scenario is a name and, per system, a
:class:`Case` (what to call, how often, what to check): :func:`measure_rows`
times the systems' cases **interleaved**, one batch of each system per
round, in an order that rotates from round to round, so that a load spike
on the machine falls on every column alike instead of on one system's
whole measurement. A system whose case cannot be built, or fails, shows
``error: ...`` in its cell only.
"""

from __future__ import annotations

import gc
import statistics
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
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

#: Two medians closer than this (as a fraction of the slower one's speed) are a tie.
TIE_THRESHOLD = 0.10


class BenchError(Exception):
    """A scenario produced a wrong result or could not be set up."""


@dataclass(frozen=True)
class Case:
    """One system's part of a scenario.

    ``func`` is called ``number`` times per round (times ``--scale``).
    ``setup`` runs before every call, outside the timing and the query count
    (for "cold" scenarios). ``check`` validates the result of the counted
    call; a wrong result is an error. ``context`` is entered around each of
    the system's batches (and around its preparation), outside the timing,
    for state that only this system must see. ``warmup`` makes one call
    before the counted one.
    """

    func: Callable[[], object]
    number: int
    setup: Callable[[], object] | None = None
    check: Callable[[object], bool] | None = None
    context: Callable[[], AbstractContextManager[object]] | None = None
    warmup: bool = True


@dataclass(frozen=True)
class Timing:
    """Seconds per call: the median, minimum and maximum over ``rounds`` rounds of
    ``number`` calls; and the SQL queries of one call."""

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


#: What a scenario gives for one system: a case, a function that builds one (its
#: exception becomes the cell's error), the reason the system could not be set up
#: (a string), or ``None`` when the scenario does not apply to that system.
Plan = Case | Callable[[], Case] | str | None

#: A case in :func:`measure_rows`: (index of its scenario, system).
Key = tuple[int, str]

#: Repetitions are multiplied by this (``--scale``); never below one call and three rounds.
SCALE = [1.0]


def scaled(number: int, rounds: int) -> tuple[int, int]:
    """``number`` and ``rounds`` after ``--scale`` (at least one call and three rounds)."""
    return max(1, round(number * SCALE[0])), max(3, round(rounds * SCALE[0]))


def error_cell(exc: BaseException, prefix: str = "") -> Cell:
    summary = f"{prefix}{type(exc).__name__}: {exc}".strip()
    return Cell(note="error", detail=f"{summary}\n{traceback.format_exc()}")


def _context(case: Case) -> AbstractContextManager[object]:
    return case.context() if case.context is not None else nullcontext()


def _prepare(case: Case) -> int:
    """Warm up, count the queries of one call and check its result; return the count."""
    with _context(case):
        if case.warmup:
            if case.setup is not None:
                case.setup()
            case.func()
        if case.setup is not None:
            case.setup()
        result, queries = count_queries(case.func)
    if case.check is not None and not case.check(result):
        raise BenchError(f"unexpected result {result!r}")
    return queries


def _batch(case: Case, number: int) -> float:
    """One round of one system: ``number`` calls; return the time per call."""
    clock = time.perf_counter
    with _context(case):
        if case.setup is None:
            start = clock()
            for _ in range(number):
                case.func()
            elapsed = clock() - start
        else:
            elapsed = 0.0
            for _ in range(number):
                case.setup()
                start = clock()
                case.func()
                elapsed += clock() - start
    return elapsed / number


def measure_rows(scenarios: Sequence[tuple[str, dict[str, Plan]]], *, rounds: int = 7) -> list[Row]:
    """Run scenarios on every system, all interleaved in the same rounds; never raise.

    Each case (one system in one scenario) is first prepared on its own
    (warm-up, the counted call, the check). Then, after a garbage collection,
    come ``rounds`` rounds; in each, every case runs one batch of its
    ``number`` calls, one after the other in an order rotated by one place each
    round, so no case always goes first. Each round gives one time per call per
    case; its cell holds their median, minimum and maximum.

    Several scenarios measured together (a warm and a cold page, say) are
    interleaved with one another too, so they can be compared as fairly as the
    systems of one scenario. A case that changes shared state must leave it as
    the next case expects it (a cold case's call primes what its setup cleared).
    """
    rows = [Row(name) for name, _ in scenarios]
    cases: dict[Key, Case] = {}
    numbers: dict[Key, int] = {}
    queries: dict[Key, int] = {}
    for index, (_, plans) in enumerate(scenarios):
        cells = rows[index].cells
        for system, _ in SYSTEMS:
            plan = plans.get(system)
            if plan is None:
                cells[system] = Cell(note=NOT_APPLICABLE)
                continue
            if isinstance(plan, str):  # the system could not be set up: its error, as given
                cells[system] = Cell(note="error", detail=plan)
                continue
            try:
                case = plan if isinstance(plan, Case) else plan()
                queries[index, system] = _prepare(case)
            except Exception as exc:  # any failure is reported in the cell, not raised
                cells[system] = error_cell(exc)
                continue
            cases[index, system] = case
            numbers[index, system] = scaled(case.number, rounds)[0]
    rounds_run = scaled(1, rounds)[1]
    samples: dict[Key, list[float]] = {key: [] for key in cases}
    # Unlike timeit, garbage collection stays on: its pauses are part of what an
    # allocation-heavy operation (a sync, a page) costs in a real process. The rounds
    # start from a collected heap, so they do not pay for earlier scenarios.
    gc.collect()
    order = list(cases)
    for round_index in range(rounds_run):
        shift = round_index % len(order) if order else 0
        for key in order[shift:] + order[:shift]:
            index, system = key
            if system in rows[index].cells:  # failed in an earlier round
                continue
            try:
                samples[key].append(_batch(cases[key], numbers[key]))
            except Exception as exc:  # reported in the cell; the others go on
                rows[index].cells[system] = error_cell(exc, prefix=f"round {round_index + 1}: ")
    for key, per_call in samples.items():
        index, system = key
        if system in rows[index].cells:
            continue
        rows[index].cells[system] = Cell(
            timing=Timing(
                median=statistics.median(per_call),
                low=min(per_call),
                high=max(per_call),
                queries=queries[key],
                rounds=len(per_call),
                number=numbers[key],
            )
        )
    return rows


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


RATIO_RULE = (
    "ratios compare medians; one is given only when the medians differ by at least "
    f"{TIE_THRESHOLD:.0%} and the faster system's median is below the slower one's "
    "minimum (its typical round beat the other's best); otherwise 'tie' and the "
    "difference of the medians"
)


def compare(ours: Cell, other: Cell) -> str:
    """How ``ours`` compares with ``other``: ``3.2x faster``, ``1.5x slower`` or a tie.

    The rule (:data:`RATIO_RULE`): a winner is named only when the medians
    differ by :data:`TIE_THRESHOLD` or more *and* the ranges [minimum, median]
    of the two do not overlap, i.e. the faster system's median is below the
    slower one's minimum. The maximum is left out of the test on purpose: one
    disturbed batch raises a maximum, not a median or a minimum. Anything else
    is ``tie (ours N% faster)``, ``tie (ours N% slower)`` or ``tie (0%)``.
    """
    if ours.timing is None or other.timing is None:
        return ""
    a, b = ours.timing, other.timing
    if a.median <= 0 or b.median <= 0:
        return ""
    if a.median <= b.median:
        fast, slow, word = a, b, "faster"
    else:
        fast, slow, word = b, a, "slower"
    factor = slow.median / fast.median
    if factor - 1 >= TIE_THRESHOLD and fast.median < slow.low:
        return f"{factor:.1f}x {word}" if factor < 100 else f"{factor:.0f}x {word}"
    percent = round((factor - 1) * 100)
    return f"tie (ours {percent}% {word})" if percent else "tie (0%)"


def table(rows: Sequence[Row], titles: dict[str, str], *, markdown: bool) -> str:
    """The results: per system median [min-max] and queries, then the two comparisons."""
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
        line.append(compare(ours, row.cells.get("dps", Cell())))
        line.append(compare(ours, row.cells.get("baseline", Cell())))
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
