"""The admin's charts, drawn on the server as SVG: the one place that knows their geometry.

Both charts of the admin are drawn here: the durations of an instance's recent
health checks (:class:`.views.health_views.CheckHistory`) and its calls per hour
(:class:`.circuits.TrafficChart`). Callers describe *what* to show (columns of
:class:`Bar`, an optional :class:`Line` on a scale of its own, the labels of the
axes) and :func:`bar_chart` decides *where*: the scales, the bars, the axes, the
labels, the accessible name and description, the colours.

No script and no inline style: the markup is plain SVG elements with
presentation attributes, so it works under a strict Content Security Policy;
marks take their colours from the admin's theme (its text colour classes, with
``fill="currentColor"``). Each bar carries a ``<title>`` (its tooltip, and what
screen readers read); the chart a ``<title>`` and a ``<desc>`` it is labelled by.
Every text is escaped: a caller passes plain strings, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

__all__ = ["TONES", "Bar", "Frame", "Layer", "Line", "bar_chart"]

#: The admin's colour class of each tone (marks are drawn with ``currentColor``).
TONES = {
    "neutral": "w-text-text-meta",
    "positive": "w-text-positive-100",
    "warning": "w-text-warning-100",
    "critical": "w-text-critical-200",
    "accent": "w-text-primary",
}

#: The size of the labels' text.
FONT_SIZE = 11


@dataclass(frozen=True)
class Bar:
    """One bar: its height (any unit, 0 or more), its tooltip, and its tone."""

    value: float
    title: str
    tone: str = "neutral"


@dataclass(frozen=True)
class Layer:
    """One bar per column (``None``: no bar there), drawn over the layers before it.

    ``opacity`` fades the whole layer; ``min_height`` keeps a bar of 0 visible
    as a sliver (0: a bar of 0 is not drawn).
    """

    bars: Sequence[Bar | None]
    opacity: float = 1.0
    min_height: float = 0.0


@dataclass(frozen=True)
class Line:
    """A line through the columns' centres (``None``: no point), on a scale of its own.

    ``scale_label`` (for example "1200 ms") is written at the top of the right
    axis: the value of the highest point.
    """

    values: Sequence[float | None]
    scale_label: str = ""
    tone: str = "accent"


@dataclass(frozen=True)
class Frame:
    """The chart's size and the margins around its plot (where the labels go).

    ``fill`` is the share of its column a bar covers, centred in it.
    """

    width: int = 600
    height: int = 96
    left: int = 0
    right: int = 0
    top: int = 0
    bottom: int = 0
    fill: float = 0.85

    @property
    def baseline(self) -> int:
        return self.height - self.bottom

    @property
    def plot_height(self) -> int:
        return self.baseline - self.top

    @property
    def plot_right(self) -> int:
        return self.width - self.right


def _number(value: float) -> str:
    return f"{value:.1f}"


def _tone(name: str) -> str:
    return TONES.get(name, TONES["neutral"])


def bar_chart(
    layers: Sequence[Layer],
    *,
    chart_id: str,
    title: str,
    description: str = "",
    frame: Frame = Frame(),
    scale_label: str = "",
    zero_label: str = "",
    line: Line | None = None,
    ticks: Sequence[tuple[int, str]] = (),
) -> SafeString:
    """An SVG chart of ``layers`` of bars, one column per bar, oldest first.

    All layers share one scale, up to their highest bar; ``scale_label`` and
    ``zero_label`` name its top and its bottom on the left axis. ``line`` has a
    scale of its own (the right axis). ``ticks`` label columns under the
    baseline: (column, text). ``title`` names the chart for assistive technology,
    ``description`` tells what it shows; ``chart_id`` makes their ids unique in
    the page.
    """
    columns = max((len(layer.bars) for layer in layers), default=0)
    if line is not None:
        columns = max(columns, len(line.values))
    step = (frame.plot_right - frame.left) / max(columns, 1)
    highest = max((bar.value for layer in layers for bar in layer.bars if bar), default=0.0)
    plot = frame.plot_height

    def bar_x(index: int) -> float:
        return frame.left + index * step + step * (1 - frame.fill) / 2

    groups = []
    for layer in layers:
        rects = []
        for index, bar in enumerate(layer.bars):
            if bar is None:
                continue
            share = bar.value / highest if highest > 0 else 0.0
            height = max(plot * share, layer.min_height)
            if height <= 0:
                continue
            rects.append(
                (
                    _number(bar_x(index)),
                    _number(frame.baseline - height),
                    _number(max(step * frame.fill, 1.0)),
                    _number(height),
                    _tone(bar.tone),
                    bar.title,
                )
            )
        body = format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" class="{}" fill="currentColor">'
            "<title>{}</title></rect>",
            rects,
        )
        opacity = format_html(' fill-opacity="{}"', layer.opacity) if layer.opacity < 1 else ""
        groups.append(format_html('<g fill="currentColor"{}>{}</g>', opacity, body))

    labels: list[tuple[float, float, str, str]] = []
    if scale_label:
        labels.append((frame.left - 6, frame.top + 4, "end", scale_label))
    if zero_label:
        labels.append((frame.left - 6, frame.baseline, "end", zero_label))
    if line is not None and line.scale_label:
        labels.append((frame.plot_right + 6, frame.top + 4, "start", line.scale_label))
    labels.extend(
        (round(bar_x(index), 1), frame.height - 8, "start", text) for index, text in ticks
    )
    text = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="{}">{}</text>',
        ((_number(x), _number(y), anchor, words) for x, y, anchor, words in labels),
    )

    path = ""
    if line is not None:
        points = [value for value in line.values if value is not None]
        top_value = max(points, default=0.0) or 1.0
        moves: list[str] = []
        for index, value in enumerate(line.values):
            if value is None:
                continue
            x = frame.left + index * step + step / 2
            y = frame.baseline - plot * value / top_value
            moves.append(f"{'L' if moves else 'M'}{x:.1f} {y:.1f}")
        if moves:
            path = format_html(
                '<path class="{}" d="{}" fill="none" stroke="currentColor" stroke-width="2"/>',
                _tone(line.tone),
                " ".join(moves),
            )

    title_id = f"{chart_id}-title"
    desc_id = f"{chart_id}-desc"
    labelled_by = f"{title_id} {desc_id}" if description else title_id
    desc = format_html('<desc id="{}">{}</desc>', desc_id, description) if description else ""
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{}" '
        'class="w-text-text-label" viewBox="0 0 {} {}" width="100%" height="{}">'
        '<title id="{}">{}</title>{}'
        '<g fill="currentColor" font-size="{}">{}</g>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-width="1"/>'
        "{}{}</svg>",
        labelled_by,
        frame.width,
        frame.height,
        frame.height,
        title_id,
        title,
        desc,
        FONT_SIZE,
        text,
        frame.left,
        frame.baseline,
        frame.plot_right,
        frame.baseline,
        format_html_join("", "{}", ((group,) for group in groups)),
        path,
    )
