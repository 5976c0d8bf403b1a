"""Multisport FIT files: cumulative EPOC and training effect per leg are counted once (issue 14/17)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from connectors import fit
from connectors.base import ReadContext
from connectors.fit_multisport import uncumulate_legs
from features.daily import build_daily
from features.load import assign_session_loads
from features.schemas import SESSIONS, SLEEP, WELLNESS, conform

T0 = datetime(2024, 4, 7, 9, 0, tzinfo=timezone.utc)


def _legs(epoc, te):
    starts = [T0 + timedelta(minutes=20 * i) for i in range(len(epoc))]
    df = conform(
        pl.DataFrame(
            {
                "athlete_id": ["a"] * len(epoc),
                "source": ["fit"] * len(epoc),
                "start_utc": starts,
                "local_date": [T0.date()] * len(epoc),
                "duration_s": [1200.0] * len(epoc),
                "device_load": epoc,
                "device_load_kind": ["epoc"] * len(epoc),
                "training_effect_aerobic": te,
            }
        ),
        SESSIONS,
    )
    return df, [starts]


def test_real_duathlon_values_sum_to_the_last_leg():
    # a real Garmin duathlon (issue 14): legs 118, 122, 135, 137, 179; true value 179, not 691
    df, groups = _legs([118.0, 122.0, 135.0, 137.0, 179.0], [2.1, 2.3, 2.9, 3.0, 3.6])
    out, notes = uncumulate_legs(df, groups)
    assert out["device_load"].to_list() == [118.0, 4.0, 13.0, 2.0, 42.0]
    assert out["device_load"].sum() == 179.0
    assert out["training_effect_aerobic"].to_list() == [None, None, None, None, 3.6]
    assert any("cumulatively" in n and "179" in n for n in notes)


def test_per_leg_values_that_go_down_are_left_alone():
    df, groups = _legs([50.0, 30.0, 80.0], [3.0, 2.0, 3.5])
    out, notes = uncumulate_legs(df, groups)
    assert out["device_load"].to_list() == [50.0, 30.0, 80.0]
    assert out["training_effect_aerobic"].to_list() == [3.0, 2.0, 3.5]
    assert any("not a running total" in n for n in notes)


def test_corpus_triathlon_counts_its_epoc_once(corpus_dir):
    path = corpus_dir / "fit/activity/muktihari__triathlon_summary_first.fit"
    r = fit.read(path, ReadContext(athlete_id="tri"))
    s = r.sessions.sort("start_utc")
    assert s.height == 5 and s["sport"].to_list() == ["swimming", "transition", "cycling", "transition", "running"]
    # the file writes 2.94, 3.98, 239.80, 244.92, 404.02 (cumulative): the legs now sum to the last value
    assert s["device_load"].sum() == pytest.approx(404.0186, abs=1e-3)
    assert s["device_load"][1] == pytest.approx(3.984863 - 2.938675, abs=1e-5)
    assert s["training_effect_aerobic"].to_list() == [None, None, None, None, 5.0]
    assert any("multisport" in w for w in r.warnings)
    loads = assign_session_loads(s, primary_family="epoc")  # (auto would take TRIMP: HR on every leg)
    d = build_daily(loads, SLEEP.empty(), WELLNESS.empty(), as_of=s["local_date"][0])
    assert d["load_au"].to_list() == [pytest.approx(404.0186, abs=1e-3)]  # not 897 (the legs summed)


def test_chained_files_are_separate_activities(corpus_dir):
    # five chained FIT files of one race (one session each): per-leg values, not running totals
    path = corpus_dir / "fit/activity/fitparse__sample_mulitple_header.fit"
    r = fit.read(path, ReadContext(athlete_id="x"))
    assert r.sessions.sort("start_utc")["training_effect_aerobic"].to_list() == [4.7, 1.7, 4.4, 4.4, 4.8]
    assert not any("multisport" in w for w in r.warnings)


def test_device_identity_is_manufacturer_and_serial(corpus_dir):
    r = fit.read(corpus_dir / "fit/activity/fitparse__garmin-fenix-5-run.fit", ReadContext(athlete_id="x"))
    assert r.sessions["device_id"].to_list() == ["1:3945849289"]  # manufacturer 1 = Garmin
