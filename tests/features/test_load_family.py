"""The load unit family: by share of training time, pinnable, everyday activity kept out (issue 14)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from typer.testing import CliRunner

from features.load import assign_session_loads
from features.schemas import SESSIONS, conform

T0 = datetime(2025, 3, 1, 7, tzinfo=timezone.utc)


def _sessions(rows: list[dict]) -> pl.DataFrame:
    base = {"athlete_id": "a", "source": "x", "local_date": None}
    out = []
    for i, r in enumerate(rows):
        d = {**base, **r}
        d["start_utc"] = T0 + timedelta(hours=6 * i)
        d["local_date"] = d["start_utc"].date()
        out.append(d)
    return conform(pl.DataFrame(out), SESSIONS)


def test_family_by_training_time_not_by_count():
    # 10 short sessions with only kcal (10 min each: 100 min) and 2 RPE-logged sessions of 60 min
    # (120 min): by count kcal would win 10:2, by training time srpe wins 120:100
    rows = [{"duration_s": 600.0, "energy_kcal": 80.0, "sport": "generic"} for _ in range(10)]
    rows += [{"duration_s": 3600.0, "rpe": 6.0, "sport": "running"} for _ in range(2)]
    out = assign_session_loads(_sessions(rows))
    assert set(out["load_family"]) == {"srpe"}
    reason = out["load_family_reason"][0]
    assert reason.startswith("srpe: largest share of training time") and "srpe 55%" in reason and "kcal 45%" in reason
    # the two logged sessions keep their RPE x minutes = 360 AU; the kcal ones fall back to minutes x default RPE
    assert out.filter(pl.col("rpe").is_not_null())["load_au"].to_list() == [360.0, 360.0]
    assert set(out.filter(pl.col("rpe").is_null())["load_method"]) == {"duration_default_rpe"}
    # with 12 min more of kcal sessions the devices cover more of the time: kcal
    rows2 = [{"duration_s": 720.0 + 120.0, "energy_kcal": 80.0, "sport": "generic"} for _ in range(10)] + rows[10:]
    assert set(assign_session_loads(_sessions(rows2))["load_family"]) == {"kcal"}


def test_auto_detected_walks_are_everyday_activity():
    rows = [{"duration_s": 1800.0, "energy_kcal": 100.0, "sport": "walking", "auto_detected": True} for _ in range(20)]
    rows += [
        {"duration_s": 1800.0, "energy_kcal": 400.0, "sport": "running", "auto_detected": True},
        {"duration_s": 3600.0, "rpe": 5.0, "sport": "running"},
    ]
    out = assign_session_loads(_sessions(rows))
    walks = out.filter(pl.col("sport") == "walking")
    assert walks["everyday"].all() and walks["load_au"].null_count() == 20
    assert set(walks["load_method"]) == {"everyday"}
    # an auto-detected run is training; the family counts training only: srpe 60 min vs kcal 30 min
    assert out.filter(pl.col("sport") == "running")["everyday"].to_list() == [False, False]
    assert set(out["load_family"]) == {"srpe"}
    assert "20 device-detected everyday session(s) (600 min) kept out of the load" in out["load_family_reason"][0]
    counted = assign_session_loads(_sessions(rows), count_everyday=True)
    assert not counted["everyday"].any() and set(counted["load_family"]) == {"kcal"}  # 630 min of kcal


def test_pins_say_who_pinned():
    rows = [{"duration_s": 3600.0, "rpe": 5.0, "avg_hr_bpm": 150.0, "sport": "running"} for _ in range(3)]
    out = assign_session_loads(_sessions(rows), primary_family={"a": "trimp"}, pin_origin={"a": "the roster"})
    assert set(out["load_family"]) == {"trimp"} and set(out["load_method"]) == {"trimp_avg"}
    assert out["load_family_reason"][0].startswith("trimp: pinned by the roster")


def test_roster_pin_and_cli_flag_reach_the_ledger(tmp_path, sample_data_dir, monkeypatch):
    from pipelines.cli import app
    from pipelines.ingest import ingest_paths
    from pipelines.stage_features import read_load_families, run_features
    from pipelines.store import Store

    monkeypatch.chdir(tmp_path)
    inp = tmp_path / "inputs"
    shutil.copytree(sample_data_dir / "inputs" / "ben", inp / "ben")  # generic CSV sessions with RPE
    store = Store(tmp_path / "store")
    assert ingest_paths(store, [inp], workers=1).ok
    as_of = store.read_table("sessions")["local_date"].max()
    run_features(store, as_of=as_of)
    fams = read_load_families(store)
    assert fams["ben"]["family"] == "srpe" and "largest share of training time" in fams["ben"]["reason"]
    run_features(store, as_of=as_of, athlete_info={"ben": {"load_family": "trimp"}})
    fams = read_load_families(store)
    assert fams["ben"]["family"] == "trimp" and "pinned by the roster" in fams["ben"]["reason"]
    assert set(store.read_table("daily")["load_family"].drop_nulls()) == {"trimp"}
    res = CliRunner().invoke(
        app, ["features", "--store", str(tmp_path / "store"), "--as-of", as_of.isoformat(), "--load-family", "kcal"]
    )
    assert res.exit_code == 0, res.output
    fams = read_load_families(store)
    assert fams["ben"]["family"] == "kcal" and "team default" in fams["ben"]["reason"]
    bad = CliRunner().invoke(app, ["features", "--store", str(tmp_path / "store"), "--load-family", "watts"])
    assert bad.exit_code == 2 and "load_family must be one of" in bad.output
    out = CliRunner().invoke(app, ["ledger", "--merges", "--store", str(tmp_path / "store")])
    assert "ben" in out.output and "pinned by the team default" in out.output


def test_config_roster_and_team_default(tmp_path):
    from pipelines.config import ConfigError, load_config

    p = tmp_path / "strainwatch.toml"
    p.write_text(
        '[features.params]\nload_family = "srpe"\n\n[[athletes]]\nid = "ola"\nload_family = "tss"\n'
        '\n[[athletes]]\nid = "kim"\n'
    )
    cfg = load_config(p, environ={})
    assert cfg.athlete_overrides() == {"ola": {"load_family": "tss"}}
    assert dict(cfg.features.params) == {"load_family": "srpe"}
    p.write_text('[[athletes]]\nid = "ola"\nload_family = "watts"\n')
    with pytest.raises(ConfigError, match="load_family"):
        load_config(p, environ={})
