"""Inline SVG charts: well-formed for any input, gaps not drawn, text escaped."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.svg import MAX_ABS, Band, HLine, Panel, Series, chart_svg, nice_ticks

values = st.lists(
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64), st.floats(-1e6, 1e6)),
    min_size=1,
    max_size=60,
)


def days(n: int) -> list[date]:
    return [date(2026, 3, 2) + timedelta(days=i) for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(values, st.sampled_from(["line", "bar", "dots"]))
def test_any_values_give_well_formed_svg(vals, kind):
    n = len(vals)
    svg = chart_svg(
        days(n),
        [
            Panel(
                "y [u]",
                [Series("s", vals, kind, "s-x")],
                bands=[Band("b", 0.8, 1.3)],
                hlines=[HLine("1.5", 1.5)],
                gap_series=0,
            )
        ],
        title="t",
        desc="d",
        highlight=(days(n)[0], days(n)[-1]),
    )
    root = ET.fromstring(svg)  # well-formed XML
    assert "nan" not in svg.lower() and "inf" not in svg.lower()
    finite = [v for v in vals if v is not None and math.isfinite(v) and abs(v) < MAX_ABS]
    marks = (
        root.findall(".//{*}path") + root.findall(".//{*}circle") + root.findall(".//path") + root.findall(".//circle")
    )
    if not finite:
        assert not marks  # nothing to draw: no marks, only the gap shading
    gaps = root.findall(".//rect[@class='gap']")
    assert sum(round(float(g.get("width")) / ((640 - 46 - 10) / n)) for g in gaps) == n - len(finite)


def test_line_breaks_at_missing_days():
    svg = chart_svg(
        days(7), [Panel("y", [Series("s", [1, 2, None, 3, 4, None, 5], "line", "s-x")])], title="t", desc="d"
    )
    root = ET.fromstring(svg)
    assert len(root.findall(".//path")) == 2  # runs [1, 2] and [3, 4]
    assert len(root.findall(".//circle")) == 1  # the lone last point


def test_text_is_escaped_and_length_checked():
    svg = chart_svg(days(2), [Panel("<y>", [Series("s", [1, 2])])], title="<script>x</script>", desc="a & b")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg
    with pytest.raises(ValueError, match="series 's' has 1 values for 2 days"):
        chart_svg(days(2), [Panel("y", [Series("s", [1])])], title="t", desc="d")
    with pytest.raises(ValueError, match="no days"):
        chart_svg([], [Panel("y")], title="t", desc="d")


@given(st.floats(-1e6, 1e6), st.floats(0, 1e6))
def test_nice_ticks_cover_the_range(lo, span):
    ticks = nice_ticks(lo, lo + span)
    assert ticks[0] <= lo + 1e-6 and ticks[-1] >= lo + span - 1e-6 * max(1, abs(lo) + span)
    assert 2 <= len(ticks) <= 12
