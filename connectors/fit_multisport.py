"""Multisport FIT files: per-leg values that the device writes as running totals.

A Garmin multisport activity (triathlon, duathlon, swimrun) is one FIT file whose
legs are separate ``session`` messages (transitions included). Garmin writes
``training_load_peak`` (field 168, EPOC) and the training effects (fields 24 and
137) of each leg **cumulatively**: each leg carries the value of the race so far.
A real duathlon: EPOC 118, 122, 135, 137, 179 on its five legs, true value 179;
summed per leg, the day would count 691, about 4x. The corpus triathlon
``muktihari__triathlon_summary_first.fit`` has EPOC 2.9, 4.0, 239.8, 244.9, 404.0.

Rule (:func:`uncumulate_legs`), applied to the legs of one FIT file segment
(chained files, one session per segment, are separate activities and untouched):

* ``device_load`` of kind ``epoc``: when the values are non-decreasing in start
  order, each leg gets its **increment** over the previous leg (the first leg
  keeps its own value), so the legs sum to the last value, the race's EPOC;
* ``training_effect_aerobic`` / ``_anaerobic``: when non-decreasing, the race's
  training effect is the **last** value; it stays on the last leg and the
  earlier legs get null (a training effect is not additive, so no increment);
* values that go down from one leg to the next are not running totals: left
  as they are, with a note.

Each change is noted in the ledger.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import pairwise

import polars as pl

__all__ = ["uncumulate_legs", "leg_groups"]

_FIT_EPOCH = datetime(1989, 12, 31, tzinfo=timezone.utc)
_TE = ("training_effect_aerobic", "training_effect_anaerobic")


def leg_groups(segments) -> list[list[datetime]]:
    """Start times (UTC) of the legs of each segment holding two or more session messages."""
    groups = []
    for seg in segments:
        msgs = seg.messages.get(18, ())
        starts = [_FIT_EPOCH + timedelta(seconds=int(m[2])) for m in msgs if m.get(2) is not None]
        if len(starts) >= 2:
            groups.append(sorted(starts))
    return groups


def _non_decreasing(vals: list[float | None]) -> bool:
    known = [v for v in vals if v is not None]
    return len(known) >= 2 and all(b >= a for a, b in pairwise(known))


def uncumulate_legs(sessions: pl.DataFrame, groups: list[list[datetime]]) -> tuple[pl.DataFrame, list[str]]:
    """Per-leg EPOC increments and last-leg training effect for the multisport legs in ``groups``.

    Parameters
    ----------
    sessions : polars.DataFrame
        The SESSIONS rows read from one FIT file.
    groups : list of list of datetime
        Start times of the legs of each multisport activity (:func:`leg_groups`).

    Returns
    -------
    sessions : polars.DataFrame
        Same rows, with the cumulative values replaced as described in the module docstring.
    notes : list of str
        One ledger note per activity changed or left alone.
    """
    notes: list[str] = []
    if sessions.is_empty() or not groups or "start_utc" not in sessions.columns:
        return sessions, notes
    rows = sessions.to_dicts()
    pos = {r["start_utc"]: i for i, r in enumerate(rows) if r.get("start_utc") is not None}
    for starts in groups:
        idx = [pos[t] for t in starts if t in pos]
        if len(idx) < 2:
            continue
        idx.sort(key=lambda i: rows[i]["start_utc"])
        when = rows[idx[0]]["start_utc"].isoformat()
        epoc = [rows[i].get("device_load") if rows[i].get("device_load_kind") == "epoc" else None for i in idx]
        if _non_decreasing(epoc):
            prev = None
            for i in idx:
                v = rows[i].get("device_load") if rows[i].get("device_load_kind") == "epoc" else None
                if v is None:
                    continue
                rows[i]["device_load"] = v - prev if prev is not None else v
                prev = v
            last = [v for v in epoc if v is not None][-1]
            notes.append(
                f"multisport activity of {when} ({len(idx)} legs): EPOC (training_load_peak) is written "
                f"cumulatively per leg ({', '.join(f'{v:.0f}' for v in epoc if v is not None)}); "
                f"each leg keeps its increment, the legs sum to {last:.0f}"
            )
        elif sum(v is not None for v in epoc) >= 2:
            notes.append(
                f"multisport activity of {when}: EPOC per leg goes down, so it is not a running total; kept per leg"
            )
        for col in _TE:
            vals = [rows[i].get(col) for i in idx]
            if _non_decreasing(vals):
                last_i = max(i for i in idx if rows[i].get(col) is not None)
                for i in idx:
                    if i != last_i:
                        rows[i][col] = None
                notes.append(
                    f"multisport activity of {when}: {col} is cumulative per leg; the race's value "
                    f"{rows[last_i][col]:g} is kept on the last leg only"
                )
    return pl.DataFrame(rows, schema=sessions.schema), notes
