"""features.load.hr_reference_from_history on a team equals it on each athlete alone (issue 19).

The function used to filter the whole team's frames once per athlete
(quadratic in the team size); it now partitions them once. Each athlete's
references must not depend on the other athletes' rows.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from features.load import hr_reference_from_history
from features.schemas import SESSIONS, WELLNESS, conform

D0 = date(2025, 1, 1)
athlete = st.sampled_from(["a", "b", "c"])
session = st.tuples(athlete, st.integers(0, 400), st.one_of(st.none(), st.sampled_from([90.0, 150.0, 181.0, 244.0])))
well_row = st.tuples(athlete, st.integers(0, 400), st.one_of(st.none(), st.sampled_from([40.0, 50.0, 52.5, 70.0])))


@settings(max_examples=60, deadline=None)
@given(
    ss=st.lists(session, max_size=30),
    ws=st.lists(well_row, max_size=30),
    as_of=st.one_of(st.none(), st.integers(100, 420)),
)
def test_team_references_equal_each_athlete_alone(ss, ws, as_of):
    sessions = conform(
        pl.DataFrame(
            {
                "athlete_id": [a for a, _, _ in ss],
                "source": ["t"] * len(ss),
                "local_date": [D0 + timedelta(days=d) for _, d, _ in ss],
                "max_hr_bpm": [m for _, _, m in ss],
            },
            schema_overrides={"athlete_id": pl.String, "local_date": pl.Date, "max_hr_bpm": pl.Float64},
        ),
        SESSIONS,
    )
    wellness = conform(
        pl.DataFrame(
            {
                "athlete_id": [a for a, _, _ in ws],
                "source": ["t"] * len(ws),
                "date": [D0 + timedelta(days=d) for _, d, _ in ws],
                "rhr_bpm": [r for _, _, r in ws],
            },
            schema_overrides={"athlete_id": pl.String, "date": pl.Date, "rhr_bpm": pl.Float64},
        ),
        WELLNESS,
    )
    end = D0 + timedelta(days=as_of) if as_of is not None else None
    team = hr_reference_from_history(sessions, wellness, as_of=end)
    alone = [
        hr_reference_from_history(
            sessions.filter(pl.col("athlete_id") == a), wellness.filter(pl.col("athlete_id") == a), as_of=end
        )
        for a in sorted(set(sessions["athlete_id"]) | set(wellness["athlete_id"]))
    ]
    want = pl.concat(alone) if alone else team.clear()
    assert team.equals(want)
