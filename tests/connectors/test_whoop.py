"""WHOOP export connector (connectors/whoop.py) on hand-written fixtures."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import whoop
from connectors.base import BadRowError, ConnectorError, OnBadRow, ReadContext
from features.schemas import SESSIONS, SLEEP, WELLNESS, require

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor" / "whoop"
CTX = ReadContext(athlete_id="alice")


def Z(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


def head(p: Path) -> bytes:
    return p.read_bytes()[:65536]


@pytest.mark.parametrize(
    "name,kind",
    [
        ("physiological_cycles.csv", "cycles"),
        ("sleeps.csv", "sleeps"),
        ("workouts.csv", "workouts"),
        ("journal_entries.csv", "journal"),
    ],
)
def test_detect_by_content_not_name(tmp_path, name, kind):
    src = FIX / name
    assert whoop.detect(src, head(src))
    renamed = tmp_path / "export-renamed.txt"
    renamed.write_bytes(src.read_bytes())
    assert whoop.detect(renamed, head(renamed))
    assert whoop.read(renamed, CTX).format == f"whoop_{kind}"


def test_detect_rejects_other_content():
    assert not whoop.detect(Path("x.csv"), b"date,Total Sleep Time,Bedtime Start\n")
    assert not whoop.detect(Path("x.csv"), b"\x00\x01\x02")
    assert not whoop.detect(Path("physiological_cycles.csv"), b"")
    assert not whoop.detect(Path("x.csv"), b"Cycle start time,Cycle end time,Cycle timezone\n")


def test_cycles_wellness_on_wake_date_across_travel_and_dst():
    res = whoop.read(FIX / "physiological_cycles.csv", CTX)
    require(res.wellness, WELLNESS)
    w = res.wellness.sort("date")
    # row 1 (2024-03-09, EST) has no RHR/HRV: strap not worn -> no row (null, never 0)
    assert w.select("date", "rhr_bpm", "hrv_rmssd_ms").rows() == [
        (date(2024, 3, 11), 52.0, 61.0),  # wake 06:50 UTC-04:00 (New York, after the DST switch)
        (date(2024, 3, 12), 54.0, 58.0),
        (date(2024, 3, 13), 60.0, 41.0),  # first cycle in London (UTC+00:00)
        (date(2024, 3, 14), 57.0, 49.0),  # current cycle: empty 'Cycle end time'
    ]
    assert w["hrv_sdnn_ms"].null_count() == w.height  # WHOOP HRV is rMSSD, never SDNN
    assert set(w["source"]) == {"whoop"}
    assert res.format == "whoop_cycles"
    # the cycles file also yields the main sleeps (not naps)
    s = res.sleep.sort("start_utc")
    assert s.height == 4 and not s["is_nap"].any()
    # 2024-03-10 23:05 at UTC-04:00 -> 2024-03-11 03:05 UTC; wake 06:50 -> 10:50 UTC
    assert s.row(0, named=True)["start_utc"] == Z(2024, 3, 11, 3, 5)
    assert s.row(0, named=True)["end_utc"] == Z(2024, 3, 11, 10, 50)


def test_sleeps_naps_minutes_and_time_zones():
    res = whoop.read(FIX / "sleeps.csv", CTX)
    require(res.sleep, SLEEP)
    s = res.sleep.sort("start_utc")
    assert s.height == 6
    first = s.row(0, named=True)
    assert first["wake_date"] == date(2024, 3, 11)
    # minutes x 60: asleep 430 -> 25800 s; light 210 -> 12600; deep 100 -> 6000; rem 120 -> 7200;
    # awake 35 -> 2100; in bed 465 -> 27900 (= 23:05 -> 06:50, 7 h 45 min)
    assert (
        first["asleep_s"],
        first["light_s"],
        first["deep_s"],
        first["rem_s"],
        first["awake_s"],
        first["in_bed_s"],
    ) == (25800.0, 12600.0, 6000.0, 7200.0, 2100.0, 27900.0)
    assert (first["end_utc"] - first["start_utc"]).total_seconds() == first["in_bed_s"]
    assert first["sleep_score"] == 88.0
    naps = s.filter(pl.col("is_nap"))
    # NY nap 14:10 local at UTC-04:00 -> 18:10 UTC; London nap 13:00 at UTC+00:00 -> 13:00 UTC
    assert naps.select("start_utc", "wake_date", "asleep_s").rows() == [
        (Z(2024, 3, 12, 18, 10), date(2024, 3, 12), 1800.0),
        (Z(2024, 3, 13, 13, 0), date(2024, 3, 13), 2520.0),
    ]
    # the overnight flight sleep: 04:10-08:25 London time
    flight = s.filter(pl.col("wake_date") == date(2024, 3, 13), ~pl.col("is_nap")).row(0, named=True)
    assert flight["start_utc"] == Z(2024, 3, 13, 4, 10) and flight["asleep_s"] == 230 * 60


def test_cycles_and_sleeps_give_the_same_keys():
    a = whoop.read(FIX / "physiological_cycles.csv", CTX).sleep
    b = whoop.read(FIX / "sleeps.csv", CTX).sleep.filter(~pl.col("is_nap"))
    key = list(SLEEP.key)
    assert a.select(key).sort(key).equals(b.select(key).sort(key))


def test_workouts():
    res = whoop.read(FIX / "workouts.csv", CTX)
    require(res.sessions, SESSIONS)
    s = res.sessions.sort("start_utc")
    run, ride, lift = s.iter_rows(named=True)
    # 07:30:00 at UTC-04:00 -> 11:30 UTC; 45.5 min -> 2730 s; 07:30:00 -> 08:15:30 is 2730 s elapsed
    assert run["start_utc"] == Z(2024, 3, 11, 11, 30)
    assert (run["duration_s"], run["elapsed_s"], run["sport"]) == (2730.0, 2730.0, "running")
    assert (run["avg_hr_bpm"], run["max_hr_bpm"], run["distance_m"], run["energy_kcal"]) == (
        152.0,
        178.0,
        8420.5,
        520.0,
    )
    assert (run["device_load"], run["device_load_kind"]) == (11.8, "whoop_strain")
    assert run["local_offset_s"] == -4 * 3600
    assert run["rpe"] is None and run["load_au"] is None
    # 21:00 local on the 12th is 01:00 UTC on the 13th: local_date stays the 12th
    assert ride["start_utc"] == Z(2024, 3, 13, 1, 0) and ride["local_date"] == date(2024, 3, 12)
    assert ride["sport"] == "cycling"
    # the current cycle (empty end time) in London; no GPS -> null distance
    assert lift["start_utc"] == Z(2024, 3, 14, 18, 0) and lift["local_offset_s"] == 0
    assert (lift["sport"], lift["duration_s"], lift["distance_m"]) == ("strength", 3120.0, None)


def write(tmp_path: Path, text: str, name: str = "workouts.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


WORKOUT_HEADER = (FIX / "workouts.csv").read_text().splitlines()[0]


def test_bad_row_raises_with_line_and_column_or_is_skipped(tmp_path):
    good = (FIX / "workouts.csv").read_text().splitlines()[1]
    bad = good.replace("2024-03-11 07:30:00", "11/03/2024 7:30", 1)
    p = write(
        tmp_path,
        "\n".join(
            [
                WORKOUT_HEADER,
                good,
                bad,
                good.replace("2024-03-11 07:30:00,2024-03-11 08:15:30", "2024-03-11 17:30:00,2024-03-11 18:15:30"),
            ]
        )
        + "\n",
    )
    with pytest.raises(BadRowError) as ei:
        whoop.read(p, CTX)
    assert ei.value.line == 3 and ei.value.column == "Workout start time"
    assert str(p) in str(ei.value) and "YYYY-MM-DD HH:MM:SS" in str(ei.value)
    res = whoop.read(p, ReadContext(athlete_id="alice", on_bad_row=OnBadRow.SKIP))
    assert res.sessions.height == 2 and res.skipped_rows == 1
    assert any("line 3" in w for w in res.warnings)


def test_implausible_values_are_bad_rows(tmp_path):
    good = (FIX / "workouts.csv").read_text().splitlines()[1]
    p = write(tmp_path, WORKOUT_HEADER + "\n" + good.replace(",178,152,", ",178,352,") + "\n")
    with pytest.raises(BadRowError, match="Average HR"):
        whoop.read(p, CTX)
    p = write(tmp_path, WORKOUT_HEADER + "\n" + good.replace("UTC-04:00", "UTC-4:99") + "\n")
    with pytest.raises(BadRowError, match="Cycle timezone"):
        whoop.read(p, CTX)


def test_malformed_files(tmp_path):
    good = (FIX / "workouts.csv").read_text().splitlines()[1]
    p = write(tmp_path, WORKOUT_HEADER + "\n" + good + ",extra,cells\n")
    with pytest.raises(ConnectorError, match=r"line 2: .*cells but the header has 20"):
        whoop.read(p, CTX)
    p = write(tmp_path, WORKOUT_HEADER + '\n"unterminated,' + good + "\n")
    with pytest.raises(ConnectorError, match="line 2"):
        whoop.read(p, CTX)
    p = write(tmp_path, "")
    with pytest.raises(ConnectorError, match="empty file"):
        whoop.read(p, CTX)
    p = tmp_path / "bin.csv"
    p.write_bytes(WORKOUT_HEADER.encode() + b"\n\xff\xfe\x00garbage")
    with pytest.raises(ConnectorError, match="binary data|UTF-8"):
        whoop.read(p, CTX)
    with pytest.raises(ConnectorError, match="not a WHOOP export"):
        whoop.read(write(tmp_path, "a,b\n1,2\n"), CTX)


def test_needs_an_athlete():
    with pytest.raises(ConnectorError, match="--athlete"):
        whoop.read(FIX / "workouts.csv", ReadContext())


def test_empty_timezone_uses_ctx_tz_with_note(tmp_path):
    good = (FIX / "workouts.csv").read_text().splitlines()[1].replace("UTC-04:00", "")
    p = write(tmp_path, WORKOUT_HEADER + "\n" + good + "\n")
    res = whoop.read(p, ReadContext(athlete_id="a", tz="America/New_York"))
    # 2024-03-11 07:30 in New York (EDT, UTC-4) -> 11:30 UTC
    assert res.sessions["start_utc"].to_list() == [Z(2024, 3, 11, 11, 30)]
    assert any("Cycle timezone" in w for w in res.warnings)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_truncations_and_random_bytes_raise_only_connector_error(tmp_path, data):
    src = data.draw(st.sampled_from(["physiological_cycles.csv", "sleeps.csv", "workouts.csv"]))
    raw = (FIX / src).read_bytes()
    mode = data.draw(st.sampled_from(["truncate", "random", "flip"]))
    if mode == "truncate":
        blob = raw[: data.draw(st.integers(0, len(raw)))]
    elif mode == "random":
        blob = data.draw(st.binary(max_size=2000))
    else:
        i = data.draw(st.integers(0, len(raw) - 1))
        blob = raw[:i] + bytes([data.draw(st.integers(0, 255))]) + raw[i + 1 :]
    p = tmp_path / "fuzz.csv"
    p.write_bytes(blob)
    if not whoop.detect(p, blob[:65536]):
        return
    try:
        res = whoop.read(p, CTX)
    except ConnectorError:
        return
    require(res.sessions, SESSIONS)
    require(res.sleep, SLEEP)
    require(res.wellness, WELLNESS)


def test_journal_is_recognised_but_adds_no_rows():
    res = whoop.read(FIX / "journal_entries.csv", CTX)
    assert res.format == "whoop_journal" and res.rows() == {"sessions": 0, "sleep": 0, "wellness": 0}
    assert "not used" in res.warnings[0]


def test_bom_and_crlf(tmp_path):
    raw = (FIX / "workouts.csv").read_text()
    p = tmp_path / "w.csv"
    p.write_bytes(b"\xef\xbb\xbf" + raw.replace("\n", "\r\n").encode())
    assert whoop.detect(p, p.read_bytes())
    a = whoop.read(p, CTX).sessions.drop("source_file")
    b = whoop.read(FIX / "workouts.csv", CTX).sessions.drop("source_file")
    assert a.equals(b)
