"""Small inline-SVG time-series charts for the weekly report (no JavaScript).

Why hand-written SVG: a report embeds about four charts per athlete; Plotly
would add ~4.8 MB of plotly.js to every file (ecosystem notes, section 2.2),
which breaks the 3 MB budget for a 30-athlete team. These charts are a few
kilobytes each, print sharply, scale to a phone's width (``viewBox`` with
``width: 100%``) and need no network.

Styling is done with CSS classes (``s-load``, ``band-acwr`` ...) that the
report's stylesheet defines, so colours live in one place and every series
also differs by line style or mark shape, never by colour alone.

Gaps: a ``None`` (or NaN, infinite, or beyond ``MAX_ABS``) value is *not drawn* - lines break, bars are absent - and
days where the panel's ``gap_series`` is missing are shaded with the ``gap``
class (and labelled "no data" when the gap is 3 days or wider).

Every string that reaches the SVG (titles, descriptions, labels) is escaped
here with :func:`html.escape`; callers may pass raw input strings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape

__all__ = ["Series", "Band", "HLine", "Panel", "chart_svg", "nice_ticks"]

#: Chart geometry in SVG user units (scaled to the page width by CSS).
WIDTH = 640
LEFT = 46
RIGHT = 10
TOP_PAD = 8
AXIS_H = 20


@dataclass(frozen=True)
class Series:
    """One series of a panel.

    Parameters
    ----------
    label : str
        Legend text.
    values : sequence of float or None
        One value per day of the chart; None is a gap.
    kind : {"line", "bar", "dots"}
    css : str
        CSS class (``s-load``, ``s-ctl`` ...).
    """

    label: str
    values: Sequence[float | None]
    kind: str = "line"
    css: str = "s-line"


@dataclass(frozen=True)
class Band:
    """A shaded band between ``lo`` and ``hi`` (scalars or one value per day; None breaks it)."""

    label: str
    lo: float | Sequence[float | None]
    hi: float | Sequence[float | None]
    css: str = "band"


@dataclass(frozen=True)
class HLine:
    """A horizontal reference line at ``y`` with a text label at the right end."""

    label: str
    y: float
    css: str = "ref"


@dataclass(frozen=True)
class Panel:
    """One stacked panel of a chart.

    Parameters
    ----------
    y_label : str
        Axis title with the unit, e.g. ``"load [AU]"``.
    series, bands, hlines
        What to draw (bands first, then lines, then series).
    y_min, y_max : float, optional
        Force the y range (otherwise from the data, bands and lines).
    gap_series : int, optional
        Index into ``series`` whose missing days are shaded as gaps.
    height : int
        Plot height in SVG units.
    """

    y_label: str
    series: Sequence[Series] = ()
    bands: Sequence[Band] = ()
    hlines: Sequence[HLine] = ()
    y_min: float | None = None
    y_max: float | None = None
    gap_series: int | None = None
    height: int = 120
    include_zero: bool = False
    extra_values: Sequence[float] = field(default_factory=tuple)


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]``.

    >>> nice_ticks(0, 97)
    [0.0, 25.0, 50.0, 75.0, 100.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if not hi - lo > 1e-9 * max(1.0, abs(lo)):  # empty or numerically negligible range
        hi = lo + max(0.1 * abs(lo), 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = mag
    for m in (1, 2, 2.5, 5, 10):
        step = m * mag
        if raw <= step:
            break
    start = math.floor(lo / step) * step
    count = math.ceil((hi - start) / step - 1e-9)
    return [float(round(start + i * step, 10)) for i in range(count + 1)]


def _fmt_tick(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v / 1000:g}k"
    if float(v).is_integer():
        return f"{int(v)}"
    return f"{v:g}"


def _as_list(v: float | Sequence[float | None], n: int) -> list[float | None]:
    if isinstance(v, (int, float)):
        return [float(v)] * n
    return list(v)


#: Values beyond this magnitude are treated as missing (they cannot be a real
#: load, heart rate or sleep value, and would overflow the axis arithmetic).
MAX_ABS = 1e15


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v) and abs(v) < MAX_ABS


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    """Index runs of consecutive finite values."""
    runs: list[list[int]] = []
    cur: list[int] = []
    for i, v in enumerate(values):
        if _finite(v):
            cur.append(i)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


def _panel(p: Panel, n: int, y0: float, xs: list[float], slot: float, highlight: tuple[int, int] | None) -> list[str]:
    out: list[str] = []
    h = p.height
    vals: list[float] = [float(v) for s in p.series for v in s.values if _finite(v)]
    for b in p.bands:
        vals += [float(v) for v in _as_list(b.lo, n) + _as_list(b.hi, n) if _finite(v)]
    vals += [hl.y for hl in p.hlines] + [float(v) for v in p.extra_values]
    if p.include_zero or any(s.kind == "bar" for s in p.series):
        vals.append(0.0)
    lo = p.y_min if p.y_min is not None else (min(vals) if vals else 0.0)
    hi = p.y_max if p.y_max is not None else (max(vals) if vals else 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    else:
        pad = 0.06 * (hi - lo)
        lo = lo if (p.y_min is not None or lo == 0.0) else lo - pad
        hi = hi if p.y_max is not None else hi + pad
    ticks = [t for t in nice_ticks(lo, hi) if lo - 1e-9 <= t <= hi + 1e-9] or [lo, hi]

    def Y(v: float) -> float:
        return round(y0 + h - (v - lo) / (hi - lo) * h)

    right = WIDTH - RIGHT
    # frame, week highlight, grid
    if highlight is not None:
        a, b = highlight
        x_a = xs[a] - slot / 2
        x_b = xs[b] + slot / 2
        out.append(f'<rect class="wk" x="{x_a:.0f}" y="{y0}" width="{x_b - x_a:.0f}" height="{h}"/>')
    for t in ticks:
        y = Y(t)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{right}" y1="{y}" y2="{y}"/>')
        out.append(f'<text class="tick" x="{LEFT - 4}" y="{y + 3}" text-anchor="end">{_fmt_tick(t)}</text>')
    out.append(
        f'<text class="axt" x="4" y="{y0 + h / 2:.0f}" transform="rotate(-90 10 {y0 + h / 2:.0f})" '
        f'text-anchor="middle" dx="-{0}" dy="6">{escape(p.y_label)}</text>'
    )
    # gaps
    if p.gap_series is not None and p.series:
        gv = p.series[p.gap_series].values
        missing = [i for i, v in enumerate(gv) if not _finite(v)]
        runs: list[list[int]] = []
        for i in missing:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        for r in runs:
            xa = xs[r[0]] - slot / 2
            xb = xs[r[-1]] + slot / 2
            out.append(f'<rect class="gap" x="{xa:.0f}" y="{y0}" width="{xb - xa:.0f}" height="{h}"/>')
            if len(r) >= 3:
                out.append(
                    f'<text class="gapt" x="{(xa + xb) / 2:.0f}" y="{y0 + 12}" text-anchor="middle">no data</text>'
                )
    # bands
    for b in p.bands:
        lo_v, hi_v = _as_list(b.lo, n), _as_list(b.hi, n)
        both = [lo_v[i] if _finite(lo_v[i]) and _finite(hi_v[i]) else None for i in range(n)]
        for run in _runs(both):
            if isinstance(b.lo, (int, float)) and isinstance(b.hi, (int, float)):
                xa, xb = LEFT, right
                ya, yb = Y(min(b.hi, hi)), Y(max(b.lo, lo))
                out.append(
                    f'<rect class="{b.css}" x="{xa}" y="{ya}" width="{xb - xa}" height="{max(yb - ya, 0):.0f}"/>'
                )
                break
            top = " ".join(f"{xs[i]:.0f},{Y(min(max(hi_v[i], lo), hi))}" for i in run)
            bot = " ".join(f"{xs[i]:.0f},{Y(min(max(lo_v[i], lo), hi))}" for i in reversed(run))
            out.append(f'<polygon class="{b.css}" points="{top} {bot}"/>')
    # series
    zero_y = Y(max(lo, 0.0))
    for s in p.series:
        v = list(s.values)
        if s.kind == "bar":
            bw = max(slot * 0.7, 1.0)
            parts = []
            for i, x in enumerate(xs):
                if _finite(v[i]):
                    y = Y(v[i])
                    parts.append(f"M{x - bw / 2:.0f} {zero_y}V{y}h{bw:.0f}V{zero_y}z")
            if parts:
                out.append(f'<path class="{s.css}" d="{"".join(parts)}"/>')
        elif s.kind == "dots":
            for i, x in enumerate(xs):
                if _finite(v[i]):
                    out.append(f'<circle class="{s.css}" cx="{x:.0f}" cy="{Y(v[i])}" r="2.2"/>')
        else:
            for run in _runs(v):
                if len(run) == 1:
                    i = run[0]
                    out.append(f'<circle class="{s.css} pt" cx="{xs[i]:.0f}" cy="{Y(v[i])}" r="1.8"/>')
                    continue
                d = "M" + " L".join(f"{xs[i]:.0f} {Y(v[i])}" for i in run)
                out.append(f'<path class="{s.css}" d="{d}"/>')
    for hl in p.hlines:
        if lo <= hl.y <= hi:
            y = Y(hl.y)
            out.append(f'<line class="{hl.css}" x1="{LEFT}" x2="{right}" y1="{y}" y2="{y}"/>')
            out.append(f'<text class="refl" x="{right - 2}" y="{y - 3}" text-anchor="end">{escape(hl.label)}</text>')
    out.append(f'<rect class="frame" x="{LEFT}" y="{y0}" width="{right - LEFT}" height="{h}"/>')
    return out


def chart_svg(
    days: Sequence[date],
    panels: Sequence[Panel],
    *,
    title: str,
    desc: str,
    highlight: tuple[date, date] | None = None,
    css: str = "chart",
) -> str:
    """Render stacked ``panels`` over ``days`` as one inline ``<svg>`` string.

    Parameters
    ----------
    days : sequence of datetime.date
        The x axis, one entry per consecutive day.
    panels : sequence of Panel
        Drawn top to bottom with a shared date axis at the bottom.
    title, desc : str
        Accessible name and text summary (``<title>``, ``<desc>``); escaped.
    highlight : (date, date), optional
        Inclusive day range to shade (the report week).

    Returns
    -------
    str
        ``<svg ...>...</svg>`` with ``role="img"`` and a ``viewBox``.
    """
    n = len(days)
    if n == 0:
        raise ValueError("chart_svg: no days to draw")
    for p in panels:
        for s in p.series:
            if len(s.values) != n:
                raise ValueError(f"chart_svg: series {s.label!r} has {len(s.values)} values for {n} days")
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / n
    xs = [LEFT + slot * (i + 0.5) for i in range(n)]
    hl_idx = None
    if highlight is not None:
        idx = [i for i, d in enumerate(days) if highlight[0] <= d <= highlight[1]]
        if idx:
            hl_idx = (idx[0], idx[-1])
    body: list[str] = []
    y = TOP_PAD
    for p in panels:
        body += _panel(p, n, y, xs, slot, hl_idx)
        y += p.height + 10
    y -= 10
    # date axis: a tick on every Monday (or the first day), label with day and month
    for i, d in enumerate(days):
        if d.weekday() == 0 or (i == 0 and n < 8):
            body.append(f'<line class="xt" x1="{xs[i]:.0f}" x2="{xs[i]:.0f}" y1="{y}" y2="{y + 4}"/>')
            body.append(
                f'<text class="tick" x="{xs[i]:.0f}" y="{y + 15}" text-anchor="middle">{d.day} '
                f"{d.strftime('%b')}</text>"
            )
    total_h = y + AXIS_H
    return (
        f'<svg class="{escape(css)}" viewBox="0 0 {WIDTH} {total_h:.0f}" role="img" '
        'preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>" + "".join(body) + "</svg>"
    )
