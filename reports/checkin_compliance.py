"""Check-in compliance for the weekly report: on how many days of the week each athlete answered.

Pure: polars in, plain data out (no files, no clock). A day counts as answered
when the athlete has a ``wellness`` row from the daily check-in (source
``checkin``: the web form or the form-service CSV import) dated that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import polars as pl

__all__ = ["CHECKIN_SOURCE", "checkin_compliance"]

CHECKIN_SOURCE = "checkin"


def checkin_compliance(
    wellness: pl.DataFrame,
    *,
    week_start: date,
    week_end: date,
    athletes: Iterable[str],
    names: Mapping[str, str] | None = None,
) -> list[dict] | None:
    """Answered days per athlete in ``week_start .. week_end`` (both included).

    Parameters
    ----------
    wellness : polars.DataFrame
        The WELLNESS table (``athlete_id``, ``source``, ``date``, ``red_flag``).
    week_start, week_end : datetime.date
        The days counted; pass the report's last day as ``week_end`` for a
        week in progress.
    athletes : iterable of str
        The report's athletes, in report order; each gets a row (0 answered
        days included).
    names : mapping, optional
        athlete_id -> display name.

    Returns
    -------
    list of dict or None
        ``{"athlete_id", "name", "answered", "of", "days", "red_flag_days"}``
        per athlete (``days``: the answered dates as ``"Mon"`` ... ``"Sun"``);
        None when no athlete has ever used the check-in (the report then
        leaves the section out).

    Examples
    --------
    >>> w = pl.DataFrame({"athlete_id": ["a", "a"], "source": ["checkin"] * 2,
    ...                   "date": [date(2026, 11, 9), date(2026, 11, 11)], "red_flag": [False, True]})
    >>> checkin_compliance(w, week_start=date(2026, 11, 9), week_end=date(2026, 11, 15), athletes=["a"])[0]["answered"]
    2
    """
    ids = list(athletes)
    if wellness.is_empty() or "source" not in wellness.columns:
        return None
    ci = wellness.filter(pl.col("source") == CHECKIN_SOURCE)
    if ci.is_empty():
        return None
    n_days = (week_end - week_start).days + 1
    week = ci.filter(pl.col("date").is_between(week_start, week_end))
    rows = []
    for a in ids:
        mine = week.filter(pl.col("athlete_id") == a)
        days = sorted(set(mine["date"].to_list()))
        flagged = sorted(set(mine.filter(pl.col("red_flag").fill_null(False))["date"].to_list()))
        rows.append(
            {
                "athlete_id": a,
                "name": (names or {}).get(a, a),
                "answered": len(days),
                "of": n_days,
                "days": [f"{d:%a}" for d in days],
                "red_flag_days": [f"{d:%a}" for d in flagged],
            }
        )
    return rows
