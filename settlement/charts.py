"""Charts drawn on the server as SVG shapes: no script for a cheap phone to download, nothing for a CSP to allow.

A chart is computed here as shapes in a fixed box (the SVG viewBox, 340 units wide: a 360-px phone less
the page's margins), so it scales to the screen and its text stays as large as the page's small print.
templates/settlement/_chart.html writes the shapes out with a <title> and a <desc>, the stylesheet
(settlement/static/settlement/charts.css) colours them, and every chart's data is also on the page as a
table, for screen readers and for anyone who wants the exact figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from settlement.selectors import AgeBand, ConditionTotal, MemberCountPoint, PeriodPoint

WIDTH = 340
HEIGHT = 200
LEFT = 46  # room for the value axis' labels
RIGHT = 6
TOP = 12
BOTTOM = 26  # room for the category labels
MOST_X_LABELS = 6  # more would overlap on a phone
HBAR_ROW = 36  # a label line and a bar per condition
MOST_CONDITIONS = 10  # the rest are in the table
LABEL_CHARACTERS = 34


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str


@dataclass(frozen=True)
class Polyline:
    points: str
    css: str


@dataclass(frozen=True)
class Dot:
    cx: float
    cy: float
    css: str
    title: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    css: str = ""


@dataclass(frozen=True)
class LegendItem:
    css: str
    name: str


@dataclass(frozen=True)
class Chart:
    key: str  # the ids of its <title> and <desc>, unique on the page
    title: str
    desc: str
    width: int = WIDTH
    height: int = HEIGHT
    grid: list[Line] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)
    polylines: list[Polyline] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    values: list[float]


# --- numbers as short as an axis needs -----------------------------------------------------------------


def nice_step(raw: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at least `raw`: grid lines at round numbers."""
    if raw <= 0:
        return 1.0
    power: float = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power * (1 + 1e-9):
            return float(factor * power)
    return 10.0 * power  # unreachable: raw ≤ 10 × power by construction


def compact(value: float, language: str | None) -> str:
    """12000 → “1.2万” in Chinese, “12K” in English; small values keep up to two decimals."""
    if (language or "").startswith("en"):
        units = [(1e9, "B"), (1e6, "M"), (1e3, "K")]
    else:
        units = [(1e8, "亿"), (1e4, "万")]
    for size, suffix in units:
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:.2f}"


def short_date(day: date) -> str:
    """“06-07”: the axis has little room; the table beside the chart gives the full date."""
    return f"{day.month:02d}-{day.day:02d}"


def _value_axis(
    top_value: float, plot_height: float, tick_text: Callable[[float], str], *, whole: bool = False
) -> tuple[float, list[Line], list[Text]]:
    """(the axis' top value, its grid lines, its labels): about four round steps from zero.

    `whole`: the values are counts (members, claims), so a step is never less than one (no “1.5 claims”).
    """
    step = nice_step(top_value / 4 if top_value > 0 else 1)
    if whole:
        step = max(step, 1.0)
    top = step * max(1, math.ceil(top_value / step - 1e-9))
    grid, texts = [], []
    steps = round(top / step)
    for i in range(steps + 1):
        y = TOP + plot_height * (1 - i / steps)
        grid.append(Line(LEFT, y, WIDTH - RIGHT, y, "grid" if i else "axis"))
        texts.append(Text(LEFT - 4, y + 4, tick_text(i * step), anchor="end", css="tick"))
    return top, grid, texts


def _x_labels(labels: Sequence[str], centres: Sequence[float]) -> list[Text]:
    every = max(1, math.ceil(len(labels) / MOST_X_LABELS))
    # The latest point is the one people look for: always labelled, counting back from it.
    last = len(labels) - 1
    return [
        Text(centres[i], HEIGHT - BOTTOM + 16, labels[i], css="tick")
        for i in range(len(labels))
        if (last - i) % every == 0
    ]


def summary(labels: Sequence[str], values: Sequence[float], text: Callable[[float], str]) -> str:
    """The <desc>: the range covered and the lowest, highest and latest values."""
    if not values:
        return _("No data yet.")
    return _("From %(first)s to %(last)s: lowest %(low)s, highest %(high)s, latest %(latest)s.") % {
        "first": labels[0],
        "last": labels[-1],
        "low": text(min(values)),
        "high": text(max(values)),
        "latest": text(values[-1]),
    }


# --- the three kinds of chart ----------------------------------------------------------------------------


def bar_chart(
    *,
    key: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[float],
    value_text: Callable[[float], str],
    tick_text: Callable[[float], str],
    whole: bool = False,
) -> Chart:
    """One vertical bar per label: periods, age bands."""
    plot_height = HEIGHT - TOP - BOTTOM
    top, grid, texts = _value_axis(max(values, default=0), plot_height, tick_text, whole=whole)
    slot = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    rects, centres = [], []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = plot_height * value / top
        centres.append(LEFT + slot * (i + 0.5))
        rects.append(
            Rect(
                x=round(LEFT + slot * (i + 0.15), 2),
                y=round(TOP + plot_height - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                css="bar",
                title=f"{label}: {value_text(value)}",
            )
        )
    return Chart(key=key, title=title, desc=desc, grid=grid, rects=rects, texts=texts + _x_labels(labels, centres))


def line_chart(
    *,
    key: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_text: Callable[[float], str],
    tick_text: Callable[[float], str],
    whole: bool = False,
) -> Chart:
    """One line per series over the same labels (days): members by status over time."""
    plot_height = HEIGHT - TOP - BOTTOM
    top_value = max((max(s.values, default=0) for s in series), default=0)
    top, grid, texts = _value_axis(top_value, plot_height, tick_text, whole=whole)
    count = len(labels)
    span = WIDTH - LEFT - RIGHT - 8
    centres = [LEFT + 4 + (span * i / (count - 1) if count > 1 else span / 2) for i in range(count)]
    polylines, dots = [], []
    for line in series:
        points = [(centres[i], TOP + plot_height * (1 - value / top)) for i, value in enumerate(line.values)]
        polylines.append(Polyline(" ".join(f"{x:.1f},{y:.1f}" for x, y in points), line.css))
        dots += [
            Dot(round(x, 1), round(y, 1), line.css, f"{line.name}, {labels[i]}: {value_text(line.values[i])}")
            for i, (x, y) in enumerate(points)
        ]
    return Chart(
        key=key,
        title=title,
        desc=desc,
        grid=grid,
        polylines=polylines,
        dots=dots,
        texts=texts + _x_labels(labels, centres),
        legend=[LegendItem(line.css, line.name) for line in series],
    )


def hbar_chart(
    *,
    key: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[float],
    value_text: Callable[[float], str],
) -> Chart:
    """One horizontal bar per label, its name above it: long names (conditions) stay readable on a phone."""
    height = TOP + HBAR_ROW * len(values) + 4
    most = max(values, default=0) or 1
    room = WIDTH - 2 * RIGHT - 92  # the value is written after the bar
    rects, texts = [], []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + HBAR_ROW * i
        name = label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"
        texts.append(Text(RIGHT, y + 10, name, anchor="start", css="label"))
        width = max(room * value / most, 1.0)
        rects.append(Rect(RIGHT, y + 15, round(width, 2), 14, "bar", f"{label}: {value_text(value)}"))
        texts.append(Text(RIGHT + width + 4, y + 26, value_text(value), anchor="start", css="tick"))
    return Chart(key=key, title=title, desc=desc, height=height, rects=rects, texts=texts)


# --- the transparency page's charts ----------------------------------------------------------------------


def _yuan(fen: float) -> str:
    return f"{fen / 100:,.2f}"


def _count(value: float) -> str:
    return f"{int(value):,}"


def _per_period(
    periods: Sequence[PeriodPoint],
    values: Sequence[float],
    *,
    key: str,
    title: str,
    value_text: Callable[[float], str],
    tick_text: Callable[[float], str],
    whole: bool = False,
) -> Chart:
    """A bar per period, labelled with its notice date."""
    return bar_chart(
        key=key,
        title=title,
        desc=summary([p.notice_date.isoformat() for p in periods], values, value_text),
        labels=[short_date(p.notice_date) for p in periods],
        values=values,
        value_text=value_text,
        tick_text=tick_text,
        whole=whole,
    )


def members_chart(points: Sequence[MemberCountPoint], *, language: str | None, key: str = "members") -> Chart:
    labels = [short_date(p.day) for p in points]
    series = [
        Series(_("Covered (waiting period included)"), "s0", [p.covered for p in points]),
        Series(_("In the waiting period"), "s1", [p.waiting for p in points]),
        Series(_("Left the plan"), "s2", [p.left for p in points]),
        Series(_("Paid out"), "s3", [p.paid_out for p in points]),
    ]
    return line_chart(
        key=key,
        title=_("Members over time"),
        desc=summary([p.day.isoformat() for p in points], series[0].values, _count),
        labels=labels,
        series=series,
        value_text=_count,
        tick_text=lambda v: compact(v, language),
        whole=True,
    )


def claims_chart(periods: Sequence[PeriodPoint], *, language: str | None) -> Chart:
    return _per_period(
        periods,
        [p.claims for p in periods],
        key="claims",
        title=_("Claims shared per period"),
        value_text=_count,
        tick_text=lambda v: compact(v, language),
        whole=True,
    )


def per_member_chart(periods: Sequence[PeriodPoint]) -> Chart:
    """The most a member was charged each period (the share, after the per-claim cap), in yuan."""
    return _per_period(
        periods,
        [p.max_charge_fen for p in periods],
        key="per-member",
        title=_("Most a member was charged per period (yuan)"),
        value_text=_yuan,
        tick_text=_yuan,
    )


def age_band_chart(bands: Sequence[AgeBand], *, language: str | None) -> Chart:
    labels = [f"{band.low}–{band.high}" for band in bands]
    values = [band.payouts_fen for band in bands]
    return bar_chart(
        key="age-bands",
        title=_("Payouts by age at diagnosis (yuan)"),
        desc=_("Payouts of every shared claim by ten-year band of age at diagnosis: %(bands)s.")
        % {"bands": "; ".join(f"{label}: {_yuan(v)}" for label, v in zip(labels, values, strict=True))}
        if bands
        else _("No data yet."),
        labels=labels,
        values=values,
        value_text=_yuan,
        tick_text=lambda v: compact(v / 100, language),
    )


def condition_chart(conditions: Sequence[ConditionTotal], *, language: str | None) -> Chart:
    top = list(conditions[:MOST_CONDITIONS])
    labels = [c.name(language) for c in top]
    values = [c.payouts_fen for c in top]
    return hbar_chart(
        key="conditions",
        title=_("Payouts by condition (yuan)"),
        desc=_("The %(count)s conditions paid most, of %(all)s: %(list)s.")
        % {
            "count": len(top),
            "all": len(conditions),
            "list": "; ".join(f"{label}: {_yuan(v)}" for label, v in zip(labels, values, strict=True)),
        }
        if top
        else _("No data yet."),
        labels=labels,
        values=values,
        value_text=lambda v: compact(v / 100, language),
    )
