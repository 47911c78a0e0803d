"""Tables and figures as data: what a dashboard shows, exports and charts, built once.

Each page's selector returns a `Page` of `Table`s. The template renders them (with the chart
drawn from the same rows), the export view writes any of them to CSV or XLSX, and each
figure's cell carries the link to the list of tickets behind it. Values stay raw numbers;
`display` is the French/English formatted text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _


def number_format(value: float, decimal_pos: int = 0, force_grouping: bool = False) -> str:
    """The number in the active language's format (1 234,5 in French, 1,234.5 in English),
    as django.utils.formats.number_format writes it, at a fraction of its cost: a page
    formats thousands of figures."""
    decimal = formats.get_format("DECIMAL_SEPARATOR")
    thousands = formats.get_format("THOUSAND_SEPARATOR") if force_grouping else ""
    text = f"{value:,.{decimal_pos}f}" if thousands else f"{value:.{decimal_pos}f}"
    if text in ("-0", "-0.0", "-0.00"):
        text = text[1:]
    return text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)


KINDS = ("text", "int", "pct", "seconds", "money", "price", "float")


def fmt_int(value: float | int | None) -> str:
    if value is None:
        return "—"
    return number_format(round(value), decimal_pos=0, force_grouping=True)


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A ratio (0–1) as a percentage."""
    if value is None:
        return "—"
    return f"{number_format(value * 100, decimal_pos=digits)} %"


def fmt_float(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return number_format(value, decimal_pos=digits, force_grouping=True)


def fmt_money(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{number_format(value, decimal_pos=digits, force_grouping=True)} €"


def fmt_seconds(value: float | None) -> str:
    """A duration in the unit that reads best: 42 s, 7 min 30 s, 5 h 10, 3.4 d."""
    if value is None:
        return "—"
    seconds = float(value)
    if seconds < 90:
        return _("%(n)s s") % {"n": number_format(seconds, decimal_pos=0)}
    if seconds < 3600:
        minutes, rest = divmod(int(round(seconds)), 60)
        return _("%(m)s min %(s)02d s") % {"m": minutes, "s": rest}
    if seconds < 2 * 86400:
        hours, rest = divmod(int(round(seconds / 60)), 60)
        return _("%(h)s h %(m)02d") % {"h": hours, "m": rest}
    return _("%(d)s d") % {"d": number_format(seconds / 86400, decimal_pos=1)}


FORMATTERS = {
    "text": lambda v: "" if v is None else str(v),
    "int": fmt_int,
    "pct": fmt_pct,
    "seconds": fmt_seconds,
    "money": fmt_money,
    "price": lambda v: fmt_money(v, 2),
    "float": fmt_float,
}


def ratio(part: float | None, whole: float | None) -> float | None:
    if not whole or part is None:
        return None
    return part / whole


@dataclass
class Cell:
    value: Any
    display: str
    href: str = ""
    # A cell can flag its value against a target (e.g. level-1 share under 80 %).
    state: str = ""
    title: str = ""  # a tooltip explaining how the figure was reached
    numeric: bool = False


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


@dataclass
class Table:
    slug: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    description: str = ""
    chart: Any = None  # a reporting.charts chart drawn from these rows, if any
    footer: list[Cell] | None = None  # totals
    empty_text: str = ""

    def add(self, *values: Any, hrefs: dict[int, str] | None = None) -> None:
        """Append a row of raw values, formatted by each column's kind."""
        self.rows.append(self._cells(values, hrefs or {}))

    def total(self, *values: Any, hrefs: dict[int, str] | None = None) -> None:
        self.footer = self._cells(values, hrefs or {})

    def _cells(self, values: tuple, hrefs: dict[int, str]) -> list[Cell]:
        cells = []
        for i, (column, value) in enumerate(zip(self.columns, values, strict=True)):
            cell = (
                value
                if isinstance(value, Cell)
                else Cell(value, FORMATTERS[column.kind](value), hrefs.get(i, ""))
            )
            cell.numeric = column.numeric
            cells.append(cell)
        return cells


@dataclass
class Tile:
    """One key figure at the top of a page."""

    label: str
    value: Any
    display: str
    href: str = ""
    note: str = ""
    state: str = ""  # "ok" / "warn" / "bad" against its target


@dataclass
class Page:
    slug: str
    title: str
    tables: list[Table] = field(default_factory=list)
    tiles: list[Tile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self, slug: str) -> Table | None:
        return next((t for t in self.tables if t.slug == slug), None)
