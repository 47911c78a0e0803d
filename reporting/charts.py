"""Server-side SVG charts: the geometry is computed here, `templates/reporting/_chart.html`
draws it. No JavaScript, no CDN; every chart has a title, a text description and the data
table it was drawn from right after it (the table is the accessible version)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.formats import number_format

# Colour-blind-safe palette (Okabe & Ito), dark enough on white for the bars' edges.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
)
WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 56


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float
    colour: str
    label: str  # the tooltip (<title>): "series, category: value"
    href: str = ""

    def __post_init__(self) -> None:
        # Coordinates are written into the SVG as they are: one decimal is plenty.
        self.x, self.y, self.w, self.h = (round(v, 1) for v in (self.x, self.y, self.w, self.h))


@dataclass
class Tick:
    pos: float
    label: str

    def __post_init__(self) -> None:
        self.pos = round(self.pos, 1)


@dataclass
class ValueLabel:
    x: float
    y: float
    text: str


@dataclass
class Polyline:
    points: str
    colour: str
    name: str
    dots: list[tuple[float, float, str]] = field(default_factory=list)
    dashed: bool = False

    def __post_init__(self) -> None:
        self.dots = [(round(x, 1), round(y, 1), label) for x, y, label in self.dots]


@dataclass
class LegendItem:
    name: str
    colour: str
    x: float = 0.0
    y: float = 0.0
    line: bool = False

    @property
    def swatch_end(self) -> float:
        return round(self.x + 16, 1)

    @property
    def swatch_top(self) -> float:
        return round(self.y - 6, 1)

    @property
    def text_x(self) -> float:
        return round(self.x + 20, 1)


@dataclass
class Chart:
    kind: str
    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    rects: list[Rect] = field(default_factory=list)
    lines: list[Polyline] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)
    target: Tick | None = None  # a horizontal target line, e.g. 80 %
    plot: tuple[float, float, float, float] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    right_ticks: list[Tick] = field(default_factory=list)
    value_labels: list[ValueLabel] = field(default_factory=list)
    uid: str = ""

    @property
    def left(self) -> float:
        return self.plot[0]

    @property
    def top(self) -> float:
        return self.plot[1]

    @property
    def right(self) -> float:
        return self.plot[2]

    @property
    def bottom(self) -> float:
        return self.plot[3]

    @property
    def label_x(self) -> float:
        """Where the left axis' labels end."""
        return self.plot[0] - 6

    @property
    def x_label_y(self) -> float:
        return self.plot[3] + 16

    @property
    def right_label_x(self) -> float:
        return self.plot[2] + 6


def layout_legend(chart: Chart) -> Chart:
    """Place the legend's items in rows under the x labels."""
    x, y = chart.left, chart.bottom + 38
    for item in chart.legend:
        width = len(item.name) * 6.6 + 28
        if x + width > chart.width - RIGHT and x > chart.left:
            x, y = chart.left, y + 16
        item.x, item.y = round(x, 1), round(y, 1)
        x += width
    chart.height = max(chart.height, int(y + 12))
    return chart


def nice_max(value: float, ticks: int = 5) -> tuple[float, float]:
    """A round upper bound just above `value`, and the step of at most `ticks` gridlines."""
    if value <= 0:
        return 1.0, 0.2
    power = 10 ** math.floor(math.log10(value / ticks))
    for m in (1, 2, 2.5, 5, 10):
        step = m * power
        if value / step <= ticks:
            return math.ceil(value / step - 1e-9) * step, step
    return 10 * power * ticks, 10 * power


def _x_labels(categories: Sequence[str], centres: Sequence[float], room: float) -> list[Tick]:
    """Every category's label when there are few (shortened to fit), else every k-th one."""
    if not categories:
        return []
    if len(categories) <= 12:
        fit = max(int(room / 6.2), 4)
        return [
            Tick(centres[i], c if len(c) <= fit else c[: fit - 1] + "…")
            for i, c in enumerate(categories)
        ]
    longest = max(len(c) for c in categories) * 6.5 + 8
    every = max(1, math.ceil(longest / max(room, 1)))
    return [Tick(centres[i], categories[i]) for i in range(0, len(categories), every)]


def _y_ticks(top: float, step: float, fmt: Callable[[float], str], y0: float, scale: float):
    values, v = [], 0.0
    while v <= top + 1e-9:
        values.append(v)
        v += step
    labels = [fmt(v) for v in values]
    if len(set(labels)) < len(labels):
        # A fractional step rounded away by the value format: show one decimal instead.
        labels = [number_format(v, decimal_pos=1) for v in values]
    return [Tick(y0 - v * scale, label) for v, label in zip(values, labels, strict=True)]


def bar_chart(
    *,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}".replace(",", "\u202f"),
    stacked: bool = True,
    hrefs: Sequence[Sequence[str]] | None = None,
    line: tuple[str, Sequence[float | None], Callable[[float], str]] | None = None,
    uid: str = "",
) -> Chart:
    """Vertical bars per category, stacked (or grouped) by series; optionally one line on a
    right-hand axis (e.g. calls against agents)."""
    chart = Chart(kind="bar", title=title, description=description, uid=uid)
    if line is not None:
        # Room on the right for the line's own axis.
        chart.plot = (LEFT, TOP, WIDTH - RIGHT - 34, HEIGHT - BOTTOM)
    x0, y_top, x1, y0 = chart.plot
    n = max(len(categories), 1)
    band = (x1 - x0) / n
    totals = [
        sum((s[1][i] or 0) for s in series) if stacked else max((s[1][i] or 0) for s in series)
        for i in range(len(categories))
    ] or [0]
    top, step = nice_max(max(totals, default=0))
    scale = (y0 - y_top) / top
    chart.y_ticks = _y_ticks(top, step, fmt, y0, scale)
    gap = band * 0.18
    for si, (name, values) in enumerate(series):
        colour = PALETTE[si % len(PALETTE)]
        chart.legend.append(LegendItem(name, colour))
        for i, value in enumerate(values):
            if not value:
                continue
            if stacked:
                below = sum((series[k][1][i] or 0) for k in range(si))
                x, w = x0 + i * band + gap / 2, band - gap
                y = y0 - (below + value) * scale
            else:
                w = (band - gap) / len(series)
                x = x0 + i * band + gap / 2 + si * w
                y = y0 - value * scale
            href = hrefs[si][i] if hrefs else ""
            chart.rects.append(
                Rect(x, y, w, value * scale, colour, f"{name}, {categories[i]}: {fmt(value)}", href)
            )
    centres = [x0 + (i + 0.5) * band for i in range(len(categories))]
    chart.x_ticks = _x_labels(categories, centres, band)
    if line is not None:
        name, values, line_fmt = line
        peak = max((v or 0) for v in values) if values else 0
        rtop, rstep = nice_max(peak)
        rscale = (y0 - y_top) / rtop
        chart.right_ticks = _y_ticks(rtop, rstep, line_fmt, y0, rscale)
        colour = PALETTE[len(series) % len(PALETTE)]
        pts = [(centres[i], y0 - v * rscale) for i, v in enumerate(values) if v is not None]
        chart.lines.append(
            Polyline(
                " ".join(f"{x:.1f},{y:.1f}" for x, y in pts),
                colour,
                name,
                [
                    (x, y, f"{name}, {categories[i]}: {line_fmt(v)}")
                    for (x, y), (i, v) in zip(
                        pts, [(i, v) for i, v in enumerate(values) if v is not None], strict=True
                    )
                ],
            )
        )
        chart.legend.append(LegendItem(name, colour, line=True))
    return layout_legend(chart)


def line_chart(
    *,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    fmt: Callable[[float], str],
    y_max: float | None = None,
    target: tuple[float, str] | None = None,
    uid: str = "",
) -> Chart:
    """Lines over categories (periods); gaps where a value is missing."""
    chart = Chart(kind="line", title=title, description=description, uid=uid)
    x0, y_top, x1, y0 = chart.plot
    peak = max((v or 0) for _, vals in series for v in vals) if series else 0
    if target:
        peak = max(peak, target[0])
    top, step = (y_max, y_max / 5) if y_max else nice_max(peak)
    scale = (y0 - y_top) / top
    chart.y_ticks = _y_ticks(top, step, fmt, y0, scale)
    n = len(categories)
    band = (x1 - x0) / max(n, 1)
    centres = [x0 + (i + 0.5) * band for i in range(n)]
    for si, (name, values) in enumerate(series):
        colour = PALETTE[si % len(PALETTE)]
        chart.legend.append(LegendItem(name, colour))
        dots = [
            (centres[i], y0 - v * scale, f"{name}, {categories[i]}: {fmt(v)}")
            for i, v in enumerate(values)
            if v is not None
        ]
        chart.lines.append(
            Polyline(" ".join(f"{x:.1f},{y:.1f}" for x, y, _ in dots), colour, name, dots)
        )
    chart.x_ticks = _x_labels(categories, centres, band)
    if target:
        chart.target = Tick(y0 - target[0] * scale, target[1])
    for item in chart.legend:
        item.line = True
    return layout_legend(chart)


def hbar_chart(
    *,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float],
    fmt: Callable[[float], str],
    hrefs: Sequence[str] | None = None,
    colours: Sequence[str] | None = None,
    uid: str = "",
) -> Chart:
    """Horizontal bars, one per label (distributions, rankings)."""
    row = 24
    label_room = min(260, max((len(lbl) for lbl in labels), default=4) * 7 + 12)
    height = TOP + row * max(len(labels), 1) + 28
    chart = Chart(
        kind="hbar",
        title=title,
        description=description,
        height=height,
        plot=(label_room, TOP, WIDTH - 70, height - 28),
        uid=uid,
    )
    x0, y_top, x1, _ = chart.plot
    top, _step = nice_max(max(values, default=0))
    scale = (x1 - x0) / top
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = y_top + i * row + 3
        colour = colours[i] if colours else PALETTE[0]
        chart.rects.append(
            Rect(
                x0,
                y,
                max(value * scale, 0),
                row - 6,
                colour,
                f"{label}: {fmt(value)}",
                hrefs[i] if hrefs else "",
            )
        )
        chart.y_ticks.append(Tick(y + (row - 6) / 2, label))
        chart.value_labels.append(
            ValueLabel(round(x0 + value * scale + 4, 1), round(y + (row - 6) / 2, 1), fmt(value))
        )
    return chart
