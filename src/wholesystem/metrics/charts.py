"""Server-side SVG for Making Data Count: SPC charts and the variation and assurance icons.

Pure functions from an :class:`~wholesystem.metrics.spc.SpcResult` (or an icon) to SVG
markup: no JavaScript, no external assets and no ``style`` attributes (the content security
policy forbids inline styles), only SVG presentation attributes and ``ws-spc-*`` classes that
``wholesystem.css`` styles for print. Meaning never rests on colour alone: special-cause points
differ in shape as well as colour (a legend names each), icons carry their letter, and every
chart has a ``<title>`` and ``<desc>``; the page puts the data behind it in a table below it.

Colours are NHSRplotthedots' (improvement blue ``#289de0``, concern orange ``#fab428``,
neutral purple ``#361475``, common cause grey ``#7b7d7d``, target red ``#de1b1b``); markers
carry a dark outline so they keep 3:1 contrast against white.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from wholesystem.metrics.spc import AssuranceIcon, PointType, SpcResult, VariationIcon

__all__ = [
    "ASSURANCE_LABELS",
    "POINT_STYLES",
    "VARIATION_LABELS",
    "ChartGeometry",
    "PointStyle",
    "assurance_icon_svg",
    "describe_points",
    "legend_svg",
    "nice_ticks",
    "spc_chart_svg",
    "variation_icon_svg",
]

BLUE = "#289de0"
ORANGE = "#fab428"
PURPLE = "#361475"
GREY = "#7b7d7d"
TARGET_RED = "#de1b1b"
INK = "#212b32"
MEAN_COLOUR = "#212b32"
LIMIT_COLOUR = "#4c6272"


@dataclass(frozen=True)
class PointStyle:
    """How a point of one type is drawn, and what the legend calls it."""

    shape: str  # circle, square, triangle_up, triangle_down, diamond
    colour: str
    label: str


POINT_STYLES: dict[PointType, PointStyle] = {
    PointType.common_cause: PointStyle("circle", GREY, "Common cause variation"),
    PointType.special_cause_improvement: PointStyle("square", BLUE, "Special cause: improvement"),
    PointType.special_cause_concern: PointStyle("triangle_up", ORANGE, "Special cause: concern"),
    PointType.special_cause_neutral_high: PointStyle(
        "diamond", PURPLE, "Special cause: neither better nor worse (high)"
    ),
    PointType.special_cause_neutral_low: PointStyle(
        "diamond", PURPLE, "Special cause: neither better nor worse (low)"
    ),
}

VARIATION_LABELS: dict[VariationIcon, str] = {
    VariationIcon.common_cause: "Common cause variation",
    VariationIcon.improvement_high: "Special cause improvement (higher)",
    VariationIcon.improvement_low: "Special cause improvement (lower)",
    VariationIcon.concern_high: "Special cause concern (higher)",
    VariationIcon.concern_low: "Special cause concern (lower)",
    VariationIcon.neutral_high: "Special cause, neither better nor worse (higher)",
    VariationIcon.neutral_low: "Special cause, neither better nor worse (lower)",
}

ASSURANCE_LABELS: dict[AssuranceIcon, str] = {
    AssuranceIcon.consistent_pass: "Will consistently meet the target",
    AssuranceIcon.consistent_fail: "Will consistently miss the target",
    AssuranceIcon.inconsistent: "Will hit and miss the target at random",
}

_VARIATION_COLOURS = {
    VariationIcon.common_cause: GREY,
    VariationIcon.improvement_high: BLUE,
    VariationIcon.improvement_low: BLUE,
    VariationIcon.concern_high: ORANGE,
    VariationIcon.concern_low: ORANGE,
    VariationIcon.neutral_high: PURPLE,
    VariationIcon.neutral_low: PURPLE,
}
_ASSURANCE_COLOURS = {
    AssuranceIcon.consistent_pass: BLUE,
    AssuranceIcon.consistent_fail: ORANGE,
    AssuranceIcon.inconsistent: GREY,
}


@dataclass(frozen=True)
class ChartGeometry:
    """The drawing area of a chart, in SVG user units."""

    width: int = 720
    height: int = 320
    left: int = 72
    right: int = 20
    top: int = 20
    bottom: int = 84

    @property
    def plot_width(self) -> float:
        return float(self.width - self.left - self.right)

    @property
    def plot_height(self) -> float:
        return float(self.height - self.top - self.bottom)


def _num(x: float) -> str:
    """A coordinate with two decimals and no trailing zeros (compact, stable output)."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``low``..``high`` (1, 2, 2.5 or 5 x 10^n)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks: list[float] = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _marker(shape: str, x: float, y: float, colour: str, r: float = 4.5) -> str:
    common = f'fill="{colour}" stroke="{INK}" stroke-width="1"'
    if shape == "circle":
        return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r - 1)}" {common}/>'
    if shape == "square":
        side = r * 1.7
        return (
            f'<rect x="{_num(x - side / 2)}" y="{_num(y - side / 2)}" width="{_num(side)}" '
            f'height="{_num(side)}" {common}/>'
        )
    if shape == "diamond":
        d = r * 1.35
        pts = [(x, y - d), (x + d, y), (x, y + d), (x - d, y)]
    elif shape == "triangle_down":
        d = r * 1.4
        pts = [(x - d, y - d * 0.8), (x + d, y - d * 0.8), (x, y + d)]
    else:  # triangle_up
        d = r * 1.4
        pts = [(x - d, y + d * 0.8), (x + d, y + d * 0.8), (x, y - d)]
    points = " ".join(f"{_num(px)},{_num(py)}" for px, py in pts)
    return f'<polygon points="{points}" {common}/>'


def _month_label(d: date) -> str:
    return d.strftime("%b %Y")


def _x_label_every(n: int, max_labels: int = 8) -> int:
    return max(1, math.ceil(n / max_labels))


def spc_chart_svg(
    result: SpcResult,
    *,
    chart_id: str,
    title: str,
    description: str,
    y_label: str,
    fmt: Callable[[float], str] = lambda v: f"{v:,.1f}",
    geometry: ChartGeometry | None = None,
) -> Markup:
    """An XmR chart: the series, each rebase group's mean and process limits, the target and
    every point marked by its type (shape and colour), with dated axes and a legend.

    ``chart_id`` makes the ids of ``<title>`` and ``<desc>`` unique on the page; ``fmt``
    formats values on the y axis.
    """
    g = geometry or ChartGeometry()
    points = result.points
    n = len(points)
    values = [p.value for p in points]
    candidates = [*values, *(p.upl for p in points), *(p.lpl for p in points)]
    if result.target is not None:
        candidates.append(result.target)
    ticks = nice_ticks(min(candidates), max(candidates))
    y_min, y_max = ticks[0], ticks[-1]
    span = (y_max - y_min) or 1.0

    def sx(i: int) -> float:
        return g.left + (g.plot_width * (i + 0.5) / n)

    def sy(v: float) -> float:
        return g.top + g.plot_height * (1 - (v - y_min) / span)

    out: list[str] = []
    tid, did = f"{chart_id}-title", f"{chart_id}-desc"
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ws-spc-chart" role="img" '
        f'viewBox="0 0 {g.width} {g.height}" aria-labelledby="{tid} {did}" '
        f'preserveAspectRatio="xMidYMid meet" focusable="false">'
    )
    out.append(f'<title id="{tid}">{escape(title)}</title>')
    out.append(f'<desc id="{did}">{escape(description)}</desc>')
    # Grid and y axis.
    for tick in ticks:
        y = _num(sy(tick))
        out.append(
            f'<line class="ws-spc-grid" x1="{g.left}" x2="{g.width - g.right}" y1="{y}" '
            f'y2="{y}" stroke="#d8dde0" stroke-width="1"/>'
        )
        out.append(
            f'<text class="ws-spc-tick" x="{g.left - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle" font-size="12" fill="{INK}">{escape(fmt(tick))}</text>'
        )
    bottom = g.height - g.bottom
    out.append(
        f'<line class="ws-spc-axis" x1="{g.left}" x2="{g.width - g.right}" y1="{bottom}" '
        f'y2="{bottom}" stroke="{INK}" stroke-width="1"/>'
    )
    out.append(
        f'<line class="ws-spc-axis" x1="{g.left}" x2="{g.left}" y1="{g.top}" y2="{bottom}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    mid_y = _num(g.top + g.plot_height / 2)
    out.append(
        f'<text class="ws-spc-axis-label" x="14" y="{mid_y}" text-anchor="middle" '
        f'font-size="12" fill="{INK}" transform="rotate(-90 14 {mid_y})">'
        f"{escape(y_label)}</text>"
    )
    # X axis: dates, thinned so they never collide.
    every = _x_label_every(n)
    for i, p in enumerate(points):
        if i % every and i != n - 1:
            continue
        x = _num(sx(i))
        out.append(
            f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 4}" stroke="{INK}" '
            f'stroke-width="1"/>'
        )
        out.append(
            f'<text class="ws-spc-tick" x="{x}" y="{bottom + 16}" text-anchor="middle" '
            f'font-size="12" fill="{INK}">{escape(_month_label(p.date))}</text>'
        )
    # Mean and limits, one segment per rebase group (lines break at a rebase).
    for group in result.groups:
        idx = [i for i, p in enumerate(points) if p.group == group.index]
        x1, x2 = _num(sx(idx[0]) - 4), _num(sx(idx[-1]) + 4)
        limits = group.limits
        out.append(
            f'<line class="ws-spc-mean" x1="{x1}" x2="{x2}" y1="{_num(sy(limits.mean))}" '
            f'y2="{_num(sy(limits.mean))}" stroke="{MEAN_COLOUR}" stroke-width="1.5"/>'
        )
        if not limits.flat:
            for limit in (limits.upl, limits.lpl):
                y = _num(sy(limit))
                out.append(
                    f'<line class="ws-spc-limit" x1="{x1}" x2="{x2}" y1="{y}" y2="{y}" '
                    f'stroke="{LIMIT_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>'
                )
    if result.target is not None:
        y = _num(sy(result.target))
        out.append(
            f'<line class="ws-spc-target" x1="{g.left}" x2="{g.width - g.right}" y1="{y}" '
            f'y2="{y}" stroke="{TARGET_RED}" stroke-width="2" stroke-dasharray="2 3"/>'
        )
    # The series, broken at rebases too.
    for group in result.groups:
        coords = " ".join(
            f"{_num(sx(i))},{_num(sy(p.value))}"
            for i, p in enumerate(points)
            if p.group == group.index
        )
        out.append(
            f'<polyline class="ws-spc-line" points="{coords}" fill="none" stroke="{GREY}" '
            f'stroke-width="1.5"/>'
        )
    for i, p in enumerate(points):
        style = POINT_STYLES[p.point_type]
        shape = style.shape
        if p.point_type is PointType.special_cause_concern and p.side is not None:
            shape = "triangle_up" if p.side.value == "high" else "triangle_down"
        r = 4.5 if p.special_cause else 3.5
        out.append(_marker(shape, sx(i), sy(p.value), style.colour, r))
    out.append(_legend_items(g, result.target is not None, top=bottom + 34))
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - built from escaped text and numbers only


def _legend_entries(has_target: bool) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = [
        ("line:mean", "Mean"),
        ("line:limit", "Process limits"),
    ]
    if has_target:
        entries.append(("line:target", "Target"))
    entries += [
        ("point:common", "Common cause"),
        ("point:improvement", "Improvement"),
        ("point:concern", "Concern (▲ high, ▼ low)"),
        ("point:neutral", "Neither (◆)"),
    ]
    return entries


def _legend_items(g: ChartGeometry, has_target: bool, *, top: float) -> str:
    entries = _legend_entries(has_target)
    per_row = 4
    col_width = (g.width - g.left) / per_row
    out = ['<g class="ws-spc-legend" font-size="12">']
    for k, (kind, label) in enumerate(entries):
        x = g.left + (k % per_row) * col_width
        y = top + (k // per_row) * 20
        out.append(_legend_swatch(kind, x + 10, y))
        out.append(
            f'<text x="{_num(x + 26)}" y="{_num(y)}" dominant-baseline="middle" '
            f'fill="{INK}">{escape(label)}</text>'
        )
    out.append("</g>")
    return "".join(out)


def _legend_swatch(kind: str, x: float, y: float) -> str:
    if kind.startswith("line:"):
        colour, dash, width = {
            "line:mean": (MEAN_COLOUR, "", "1.5"),
            "line:limit": (LIMIT_COLOUR, ' stroke-dasharray="6 4"', "1.5"),
            "line:target": (TARGET_RED, ' stroke-dasharray="2 3"', "2"),
        }[kind]
        return (
            f'<line x1="{_num(x - 10)}" x2="{_num(x + 10)}" y1="{_num(y)}" y2="{_num(y)}" '
            f'stroke="{colour}" stroke-width="{width}"{dash}/>'
        )
    style = {
        "point:common": POINT_STYLES[PointType.common_cause],
        "point:improvement": POINT_STYLES[PointType.special_cause_improvement],
        "point:concern": POINT_STYLES[PointType.special_cause_concern],
        "point:neutral": POINT_STYLES[PointType.special_cause_neutral_high],
    }[kind]
    return _marker(style.shape, x, y, style.colour)


def legend_svg(has_target: bool = True) -> Markup:
    """The chart legend on its own (for pages that show several small charts)."""
    g = ChartGeometry(height=60, bottom=0, top=0)
    body = _legend_items(g, has_target, top=12).replace(
        '<g class="ws-spc-legend"', '<g class="ws-spc-legend" transform="translate(-62 0)"'
    )
    return Markup(  # noqa: S704 - built from escaped text and numbers only
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ws-spc-legend-svg" role="img" '
        f'aria-label="Chart key" viewBox="0 0 {g.width} 52">{body}</svg>'
    )


def _icon(colour: str, letter: str, label: str, *, size: int, kind: str) -> Markup:
    glyph = (
        f'<text x="20" y="21" text-anchor="middle" dominant-baseline="middle" font-size="18" '
        f'font-weight="bold" fill="{INK}">{escape(letter)}</text>'
        if letter
        else f'<polyline points="9,22 14,17 19,24 24,15 31,20" fill="none" stroke="{INK}" '
        f'stroke-width="2"/>'
    )
    return Markup(  # noqa: S704 - built from escaped text and numbers only
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ws-spc-icon ws-spc-icon--{kind}" '
        f'width="{size}" height="{size}" viewBox="0 0 40 40" role="img" '
        f'aria-label="{escape(label)}" focusable="false"><title>{escape(label)}</title>'
        f'<circle cx="20" cy="20" r="16.5" fill="#ffffff" stroke="{colour}" stroke-width="5"/>'
        f'<circle cx="20" cy="20" r="19.5" fill="none" stroke="{INK}" stroke-width="1"/>'
        f"{glyph}</svg>"
    )


def variation_icon_svg(icon: VariationIcon, *, size: int = 40) -> Markup:
    """The variation icon: a coloured ring (MDC colour) with H or L, or a wave for common
    cause; its label is its accessible name."""
    return _icon(
        _VARIATION_COLOURS[icon], icon.letter, VARIATION_LABELS[icon], size=size, kind="variation"
    )


def assurance_icon_svg(icon: AssuranceIcon | None, *, size: int = 40) -> Markup:
    """The assurance icon with P, F or ?; no target (or no direction) draws nothing."""
    if icon is None:
        return Markup("")
    return _icon(
        _ASSURANCE_COLOURS[icon], icon.letter, ASSURANCE_LABELS[icon], size=size, kind="assurance"
    )


def describe_points(types: Sequence[PointType]) -> dict[PointType, int]:
    """How many points of each type (for a chart's ``<desc>``)."""
    counts: dict[PointType, int] = {}
    for t in types:
        counts[t] = counts.get(t, 0) + 1
    return counts
