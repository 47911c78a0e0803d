"""Rendering of the dashboards' table rows and chart marks: one tag per row (per chart)
rather than several template tags per cell, since a page can hold thousands of figures.

Escaping uses the standard library's `html.escape` on every value, which is what Django's
`escape` does, without its per-call lazy-string checks (a third of the cost page's time).
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..tables import Cell

register = template.Library()


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _content(cell: Cell) -> str:
    if cell.href:
        return f'<a href="{_e(cell.href)}">{_e(cell.display)}</a>'
    return _e(cell.display)


def _td(cell: Cell) -> str:
    classes = " ".join(
        c for c in ("num" if cell.numeric else "", f"state-{cell.state}" if cell.state else "") if c
    )
    attrs = f' class="{_e(classes)}"' if classes else ""
    if cell.title:
        attrs += f' title="{_e(cell.title)}"'
    return f"<td{attrs}>{_content(cell)}</td>"


@register.simple_tag
def report_row(cells: list[Cell]) -> SafeString:
    """A table row: the first cell is the row's header, the others its figures (linked to the
    tickets behind them when they have a link)."""
    if not cells:
        return mark_safe("")
    head, *rest = cells
    return mark_safe(  # every value is escaped above
        f'<tr><th scope="row">{_content(head)}</th>{"".join(_td(c) for c in rest)}</tr>'
    )


@register.simple_tag
def chart_bars(chart) -> SafeString:
    """The chart's bars, each a link to its tickets when it has one, with its value as title."""
    parts = []
    for r in chart.rects:
        rect = (
            f'<rect x="{r.x}" y="{r.y}" width="{r.w}" height="{r.h}" fill="{_e(r.colour)}">'
            f"<title>{_e(r.label)}</title></rect>"
        )
        parts.append(f'<a href="{_e(r.href)}">{rect}</a>' if r.href else rect)
    return mark_safe("".join(parts))  # every value is escaped above


@register.simple_tag
def chart_lines(chart) -> SafeString:
    parts = []
    for line in chart.lines:
        colour = _e(line.colour)
        parts.append(
            f'<polyline points="{_e(line.points)}" fill="none" stroke="{colour}" '
            'stroke-width="2.5"/>'
        )
        parts.extend(
            f'<circle cx="{x}" cy="{y}" r="3.5" fill="{colour}"><title>{_e(label)}</title></circle>'
            for x, y, label in line.dots
        )
    return mark_safe("".join(parts))  # every value is escaped above
