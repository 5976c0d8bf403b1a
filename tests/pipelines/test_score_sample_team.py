"""The sample team end to end: ingest -> features -> score -> export scores (issue 6 "done when").

Each scenario athlete of sample_data/README.md must show its signal in the
last week with the right reason and advice; the steady athletes stay calm.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()
AS_OF = "2026-11-15"
LAST_WEEK = (date(2026, 11, 9), date(2026, 11, 15))
CONTROLS = ("ana", "ben", "hana", "ivo", "jo")


@pytest.fixture(scope="module")
def scores(sample_data_dir, tmp_path_factory) -> dict[str, list[dict]]:
    inputs = sample_data_dir / "inputs"
    if not inputs.is_dir():
        pytest.skip("sample_data/inputs not generated")
    tmp = tmp_path_factory.mktemp("team")
    store = str(tmp / "data")
    cfg = str(sample_data_dir / "strainwatch.toml")
    for args in (["ingest", str(inputs)], ["features", "--as-of", AS_OF], ["score", "--as-of", AS_OF]):
        res = runner.invoke(app, [*args, "--store", store, *(["--config", cfg] if args[0] != "ingest" else [])])
        assert res.exit_code == 0, (args, res.output)
    out = tmp / "scores.csv"
    res = runner.invoke(app, ["export", "scores", "--store", store, "--out", str(out)])
    assert res.exit_code == 0, res.output
    with out.open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["athlete_id", "date", "risk_score", "risk_band", "reasons", "adjustments"]
        by: dict[str, list[dict]] = defaultdict(list)
        for r in reader:
            r["date"] = date.fromisoformat(r["date"])
            by[r["athlete_id"]].append(r)
    return by


def last_week(rows):
    return [r for r in rows if LAST_WEEK[0] <= r["date"] <= LAST_WEEK[1]]


def test_every_day_is_scored_and_explained(scores):
    assert sorted(scores) == sorted(["ana", "ben", "carla", "dev", "eli", "fay", "gus", "hana", "ivo", "jo"])
    for a, rows in scores.items():
        assert rows[-1]["date"] == date(2026, 11, 15)
        dates = [r["date"] for r in rows]
        assert len(dates) == len(set(dates)) == (dates[-1] - dates[0]).days + 1, a  # every calendar day
        for r in rows:
            assert r["risk_band"] in ("low", "moderate", "high", "insufficient_data")
            if r["risk_band"] == "insufficient_data":
                assert r["risk_score"] == ""
            else:
                assert 0 <= float(r["risk_score"]) <= 100
            if r["risk_band"] in ("moderate", "high"):
                assert r["reasons"] and r["adjustments"], (a, r)


def test_load_spike_athlete_is_high_with_a_cut(scores):
    wk = last_week(scores["carla"])
    high = [r for r in wk if r["risk_band"] == "high"]
    assert high and high[0]["reasons"].split(";")[0] == "acwr_spike"
    assert any("cut_volume" in r["adjustments"] for r in high)


def test_return_after_break_is_high(scores):
    rows = [r for r in scores["dev"] if r["date"] >= date(2026, 10, 1)]
    high = [r for r in rows if r["risk_band"] == "high"]
    assert high and high[0]["reasons"].split(";")[0] in ("acwr_spike", "weekly_ramp")


def test_short_sleep_athlete_is_moderate_for_sleep(scores):
    wk = last_week(scores["eli"])
    hit = [r for r in wk if r["risk_band"] in ("moderate", "high")]
    assert hit and hit[0]["reasons"].split(";")[0] == "sleep_debt"
    assert "prioritise_sleep" in hit[-1]["adjustments"]


def test_raised_rhr_suppressed_hrv_is_moderate_with_rest(scores):
    wk = last_week(scores["fay"])
    hit = [r for r in wk if r["risk_band"] in ("moderate", "high")]
    assert hit and hit[0]["reasons"].split(";")[0] in ("hrv_suppressed", "rhr_elevated")
    assert any("rest_day" in r["adjustments"] for r in hit)


def test_red_flag_athlete_sees_a_clinician(scores):
    r = next(r for r in scores["gus"] if r["date"] == date(2026, 11, 14))
    assert (r["risk_band"], r["risk_score"], r["reasons"].split(";")[0], r["adjustments"]) == (
        "high",
        "100.0",
        "red_flag",
        "see_clinician",
    )
    after = next(r for r in scores["gus"] if r["date"] == date(2026, 11, 15))
    assert after["adjustments"].startswith("see_clinician")


@pytest.mark.parametrize("athlete", CONTROLS)
def test_steady_athletes_stay_calm(scores, athlete):
    scored = [r for r in scores[athlete] if r["risk_band"] != "insufficient_data"]
    assert len(scored) > 150
    assert sum(r["risk_band"] == "high" for r in scored) / len(scored) <= 0.02
    assert sum(r["risk_band"] in ("moderate", "high") for r in scored) / len(scored) <= 0.10
