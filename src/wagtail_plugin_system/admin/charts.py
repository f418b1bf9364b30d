"""Small charts for admin pages, drawn on the server as SVG.

No script and no inline style: the markup is plain SVG elements with
presentation attributes, so it works under a strict Content Security Policy;
bars take their colours from the admin's theme (its text colour classes, with
``fill="currentColor"``), as the traffic chart of :mod:`.circuits` does.
Each bar carries a ``<title>`` (its tooltip, and what screen readers read), and
the chart as a whole an ``aria-label``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

__all__ = ["TONES", "Bar", "bar_chart"]

#: The admin's colour class of each tone (bars are filled with ``currentColor``).
TONES = {
    "neutral": "w-text-text-meta",
    "positive": "w-text-positive-100",
    "warning": "w-text-warning-100",
    "critical": "w-text-critical-200",
}


@dataclass(frozen=True)
class Bar:
    """One bar: its height (any unit, 0 or more), its tooltip, and its tone."""

    value: float
    title: str
    tone: str = "neutral"


def bar_chart(
    bars: Sequence[Bar],
    *,
    label: str,
    max_label: str = "",
    width: int = 600,
    height: int = 96,
    gap: int = 2,
) -> SafeString:
    """An SVG bar chart of ``bars``, oldest first, scaled to the highest one.

    ``label`` names the chart for assistive technology; ``max_label`` (for
    example "1200 ms") is written at the top left, the value of a full bar.
    """
    top = 14 if max_label else 0
    plot = height - top
    highest = max((bar.value for bar in bars), default=0.0)
    count = max(len(bars), 1)
    step = width / count
    bar_width = max(step - gap, 1.0)
    rects = []
    for index, bar in enumerate(bars):
        # A bar of 0 stays visible as a sliver, so that every result shows.
        share = bar.value / highest if highest > 0 else 0.0
        bar_height = max(plot * share, 2.0)
        rects.append(
            (
                f"{index * step:.1f}",
                f"{height - bar_height:.1f}",
                f"{bar_width:.1f}",
                f"{bar_height:.1f}",
                TONES.get(bar.tone, TONES["neutral"]),
                bar.title,
            )
        )
    body = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="{}" fill="currentColor">'
        "<title>{}</title></rect>",
        rects,
    )
    caption = (
        format_html('<text x="0" y="10" font-size="10" fill="currentColor">{}</text>', max_label)
        if max_label
        else ""
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" '
        'class="w-text-text-label" viewBox="0 0 {} {}" width="100%" height="{}">'
        '{}{}<line x1="0" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-width="1"/>'
        "</svg>",
        label,
        width,
        height,
        height,
        caption,
        body,
        height,
        width,
        height,
    )
