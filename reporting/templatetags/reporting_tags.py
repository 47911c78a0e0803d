"""Rendering of the dashboards' table rows: one tag per row rather than a handful of template
tags per cell, since a page can hold a thousand figures."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ..tables import Cell

register = template.Library()


def _content(cell: Cell) -> SafeString:
    if cell.href:
        return format_html('<a href="{}">{}</a>', cell.href, cell.display)
    return format_html("{}", cell.display)


def _td(cell: Cell) -> tuple:
    classes = " ".join(
        c for c in ("num" if cell.numeric else "", f"state-{cell.state}" if cell.state else "") if c
    )
    title = format_html(' title="{}"', cell.title) if cell.title else ""
    return (format_html(' class="{}"', classes) if classes else "", title, _content(cell))


@register.simple_tag
def report_row(cells: list[Cell]) -> SafeString:
    """A table row: the first cell is the row's header, the others its figures (linked to the
    tickets behind them when they have a link)."""
    if not cells:
        return SafeString("")
    head, *rest = cells
    return format_html(
        '<tr><th scope="row">{}</th>{}</tr>',
        _content(head),
        format_html_join("", "<td{}{}>{}</td>", (_td(c) for c in rest)),
    )


@register.simple_tag
def chart_bars(chart) -> SafeString:
    """The chart's bars, each a link to its tickets when it has one, with its value as title."""
    parts = []
    for r in chart.rects:
        rect = format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            r.x,
            r.y,
            r.w,
            r.h,
            r.colour,
            r.label,
        )
        parts.append(format_html('<a href="{}">{}</a>', r.href, rect) if r.href else rect)
    return SafeString("".join(parts))


@register.simple_tag
def chart_lines(chart) -> SafeString:
    parts = []
    for line in chart.lines:
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>',
                line.points,
                line.colour,
            )
        )
        parts.extend(
            format_html(
                '<circle cx="{}" cy="{}" r="3.5" fill="{}"><title>{}</title></circle>',
                x,
                y,
                line.colour,
                label,
            )
            for x, y, label in line.dots
        )
    return SafeString("".join(parts))
