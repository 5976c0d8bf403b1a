"""generic_csv.read_many: many files in one query, each with exactly what read() gives it."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import generic_csv
from connectors.base import BadRowError, ConnectorError, OnBadRow, ReadContext, ReadResult

DAILY = "athlete_id,date,resting_hr,hrv_rmssd_ms\n"
SESSIONS = "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
SLEEP = "sleep_start,sleep_end,total_sleep_min\n"  # no athlete_id column: from the context

FILES = {
    "ok_daily.csv": DAILY + "ana,2025-03-01,52,61.5\n",
    "ok_daily_2.csv": DAILY + "ben,2025-03-01,49,70\n,2025-03-02,50,71\n",  # empty athlete cell: from ctx
    "bad_hr.csv": DAILY + "ana,2025-03-02,52,60\nana,2025-03-03,400,60\n",  # line 3, resting_hr
    "bad_date.csv": DAILY + "ana,03/04/2025,52,60\n",
    "header_only.csv": DAILY,
    "empty.csv": "",
    "blank_lines.csv": DAILY + "\n\nana,2025-03-05,51,60\n\n",
    "sessions_naive.csv": SESSIONS + "ana,2025-03-30T02:30:00,45,running,140,5,8\n",  # no such time in Berlin
    "sessions_ok.csv": SESSIONS + "ana,2025-03-01T07:30:00+01:00,45,running,140,5,8\n"
    "ana,2025-03-01T07:30:00+01:00,50,running,141,6,9\n",  # repeated key: a note
    "sleep_ok.csv": SLEEP + "2025-03-01T23:00:00+01:00,2025-03-02T07:00:00+01:00,450\n",
    "sleep_naive.csv": SLEEP + "2025-10-25T23:30:00,2025-10-26T02:30:00,170\n",  # ambiguous 02:30 in Berlin
    "sleep_semicolon.csv": (
        "sleep_start;sleep_end;total_sleep_min\n2025-03-01T23:00:00+01:00;2025-03-02T07:00:00+01:00;450,5\n"
    ),
    "ragged.csv": DAILY + "ana,2025-03-06,52,60,extra\n",
    "unknown.csv": "a,b,c\n1,2,3\n",
}


def _outcome(x: ReadResult | Exception) -> tuple:
    if isinstance(x, Exception):
        return ("error", type(x).__name__, str(x))
    return (
        "ok",
        x.format,
        x.skipped_rows,
        tuple(x.warnings),
        x.athlete_ids,
        tuple((k, v.to_dicts(), v.schema) for k, v in x.tables().items()),
    )


def _read(path: Path, ctx: ReadContext) -> tuple:
    try:
        return _outcome(generic_csv.read(path, ctx))
    except Exception as err:  # noqa: BLE001
        return _outcome(err)


@pytest.mark.parametrize("on_bad_row", [OnBadRow.RAISE, OnBadRow.SKIP])
@pytest.mark.parametrize("tz", ["Europe/Berlin", None, "Not/AZone"])
def test_read_many_gives_each_file_what_read_gives_it(tmp_path: Path, on_bad_row: OnBadRow, tz: str | None) -> None:
    items = []
    for i, (name, text) in enumerate(FILES.items()):
        p = tmp_path / name
        p.write_text(text)
        items.append((p, ReadContext(athlete_id=["ana", "ben", None][i % 3], tz=tz, on_bad_row=on_bad_row)))
    items.append((tmp_path / "missing.csv", ReadContext()))  # cannot be read: its own error
    got = generic_csv.read_many(items)
    assert len(got) == len(items)
    for (p, ctx), g in zip(items, got, strict=True):
        assert _outcome(g) == _read(p, ctx), p.name


def test_errors_name_their_own_file_line_and_column(tmp_path: Path) -> None:
    paths = []
    for name in ("ok_daily.csv", "bad_hr.csv", "ok_daily_2.csv"):
        (tmp_path / name).write_text(FILES[name])
        paths.append(tmp_path / name)
    ok1, bad, ok2 = generic_csv.read_many([(p, ReadContext(athlete_id="ben")) for p in paths])
    assert isinstance(bad, BadRowError)
    assert (bad.path, bad.line, bad.column) == (str(paths[1]), 3, "resting_hr")
    assert "400 is outside the plausible range" in str(bad)
    assert ok1.wellness["source_file"].to_list() == [str(paths[0])]
    # the second file's empty athlete cell is filled from its own context, with its own note
    assert ok2.wellness["athlete_id"].to_list() == ["ben", "ben"]
    assert ok2.warnings == ["athlete_id: 1 empty cell(s) taken as athlete 'ben'"]
    assert ok1.warnings == []


def test_unknown_zone_fails_only_files_that_need_it(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(FILES["sleep_ok.csv"])
    (tmp_path / "b.csv").write_text(FILES["sleep_naive.csv"])
    ctx = ReadContext(athlete_id="ana", tz="Not/AZone")
    a, b = generic_csv.read_many([(tmp_path / "a.csv", ctx), (tmp_path / "b.csv", ctx)])
    assert isinstance(a, ReadResult) and a.sleep.height == 1
    assert isinstance(b, ConnectorError) and "'Not/AZone' is not an IANA time zone" in str(b)


def _random_daily(rng: random.Random) -> str:
    rows = [DAILY.strip()]
    for _ in range(rng.choice([0, 1, 1, 2, 5])):
        rows.append(
            ",".join(
                [
                    rng.choice(["ana", "", "ben"]),
                    rng.choice(["2025-03-01", "2025-3-2", "x", ""]),
                    rng.choice(["50", "", "400", "abc", "19"]),
                    rng.choice(["60", "0", "", "7,5", "501"]),
                ]
            )
        )
    return "\n".join(rows) + "\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6))
def test_read_many_equals_read_on_random_daily_files(tmp_path_factory, seed: int) -> None:
    rng = random.Random(seed)
    d = tmp_path_factory.mktemp("b")
    items = []
    for i in range(rng.randint(2, 12)):
        p = d / f"f{i}.csv"
        p.write_text(_random_daily(rng))
        items.append(
            (
                p,
                ReadContext(
                    athlete_id=rng.choice([None, "ctx"]), on_bad_row=rng.choice([OnBadRow.RAISE, OnBadRow.SKIP])
                ),
            )
        )
    for (p, ctx), g in zip(items, generic_csv.read_many(items), strict=True):
        assert _outcome(g) == _read(p, ctx)


def test_in_bed_seconds_do_not_depend_on_how_many_rows_are_read_together(tmp_path: Path) -> None:
    # 6 h 30 min 0.123456 s in bed = 23400.123456 s, exactly as written, alone or with other rows
    row = "2025-03-01T23:00:00+00:00,2025-03-02T05:30:00.123456+00:00,300\n"
    (tmp_path / "one.csv").write_text(SLEEP + row)
    (tmp_path / "many.csv").write_text(SLEEP + row + "2025-03-02T23:00:00+00:00,2025-03-03T05:30:00+00:00,300\n")
    one = generic_csv.read(tmp_path / "one.csv", ReadContext(athlete_id="ana"))
    many = generic_csv.read(tmp_path / "many.csv", ReadContext(athlete_id="ana"))
    assert one.sleep["in_bed_s"][0] == many.sleep["in_bed_s"][0] == 23400.123456
    assert isinstance(many.sleep, pl.DataFrame)
