"""Ingesting vendor exports: zip handling (zip-slip), detection in an export folder, merge ledger."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest import ZipSlipError, extract_zip, ingest_paths, read_merges
from pipelines.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"

APPLE_RUN = """<?xml version="1.0" encoding="UTF-8"?>
<HealthData locale="en_US">
 <ExportDate value="2024-03-20 09:00:00 -0400"/>
 <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="45.2" durationUnit="min"
  totalDistance="5.23" totalDistanceUnit="mi" sourceName="Apple Watch" startDate="2024-03-11 07:30:15 -0400"
  endDate="2024-03-11 08:15:40 -0400">
  <MetadataEntry key="HKTimeZone" value="America/New_York"/>
 </Workout>
</HealthData>
"""


def test_zip_slip_member_is_refused(tmp_path):
    for evil in ("../../evil.txt", "/etc/evil.txt", "ok/../../evil.txt", "C:/evil.txt"):
        z = tmp_path / "export.zip"
        with zipfile.ZipFile(z, "w") as zf:
            zf.writestr("whoop/workouts.csv", (FIX / "whoop" / "workouts.csv").read_text())
            zf.writestr(evil, "pwned")
        dest = tmp_path / "out"
        with pytest.raises(ZipSlipError, match="outside the extraction folder"):
            extract_zip(z, dest, "export.zip")
        # nothing at all was written, not even the good member
        assert not (tmp_path / "evil.txt").exists()
        assert not dest.exists() or not any(dest.rglob("*"))


def test_zip_slip_archive_is_rejected_in_ledger_and_run_goes_on(tmp_path):
    inputs = tmp_path / "inputs" / "alice"
    inputs.mkdir(parents=True)
    with zipfile.ZipFile(inputs / "my_whoop_data.zip", "w") as zf:
        zf.writestr("../../../evil.csv", "x")
    shutil.copy(FIX / "whoop" / "sleeps.csv", inputs / "sleeps.csv")
    store = Store(tmp_path / "store")
    s = ingest_paths(store, [tmp_path / "inputs"], workers=1)
    assert s.rejected == 1 and s.ingested == 1
    led = store.ledger()
    bad = led.filter(pl.col("status") == "rejected").row(0, named=True)
    assert bad["format"] == "zip" and "outside the extraction folder" in bad["error"]
    assert not (tmp_path / "evil.csv").exists()


def test_export_zip_with_all_my_formats(tmp_path):
    z = tmp_path / "inputs" / "alice" / "exports.zip"
    z.parent.mkdir(parents=True)
    with zipfile.ZipFile(z, "w") as zf:
        for sub in ("whoop", "oura"):
            for f in sorted((FIX / sub).iterdir()):
                zf.write(f, f"{sub}_export/{f.name}")
        zf.write(FIX / "apple_health" / "export.xml", "apple_health_export/export.xml")
        zf.writestr(
            "apple_health_export/export_cda.xml",
            '<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"><title/></ClinicalDocument>\n',
        )
        zf.writestr(
            "apple_health_export/workout-routes/route_2024-01-16_8.16am.gpx",
            '<?xml version="1.0"?>\n<gpx version="1.1" creator="Apple Health Export"><trk/></gpx>\n',
        )
        zf.writestr("__MACOSX/apple_health_export/._export.xml", b"\x00\x05\x16\x07junk")
    store = Store(tmp_path / "store")
    s = ingest_paths(store, [tmp_path / "inputs"], workers=1)
    assert s.rejected == 0, s.problems
    assert s.by_format == {
        "whoop_cycles": 1,
        "whoop_sleeps": 1,
        "whoop_workouts": 1,
        "whoop_journal": 1,
        "apple_health": 1,
        "apple_health_cda": 1,
        "apple_health_route": 1,
        "oura_trends_csv": 1,
        "oura_sleepmodel_csv": 1,
        "oura_sleepmodel_json": 2,
        "oura_dailysleep_csv": 1,
        "oura_workout_csv": 1,
        "oura_other_csv": 1,
    }
    assert s.athletes == {"alice"}
    led = store.ledger()
    assert all("exports.zip!" in p for p in led["path"])
    sessions = store.read_table("sessions", ["alice"])
    assert set(sessions["source"]) == {"whoop", "apple_health", "oura"}
    # whoop sleeps.csv and physiological_cycles.csv describe the same main sleeps: stored once
    sleep = store.read_table("sleep", ["alice"])
    assert sleep.filter(pl.col("source") == "whoop").height == 6
    wellness = store.read_table("wellness", ["alice"])
    assert set(wellness["source"]) == {"whoop", "oura", "apple_health"}
    assert wellness.filter(pl.col("source") == "apple_health")["hrv_rmssd_ms"].null_count() == 3


def test_merges_are_ledgered_and_counted_once(tmp_path):
    alice = tmp_path / "inputs" / "alice"
    alice.mkdir(parents=True)
    shutil.copy(FIX / "whoop" / "workouts.csv", alice / "workouts.csv")
    (alice / "export.xml").write_text(APPLE_RUN)
    bob = tmp_path / "inputs" / "bob"
    bob.mkdir()
    shutil.copy(FIX / "whoop" / "workouts.csv", bob / "workouts.csv")  # same run, another athlete
    store = Store(tmp_path / "store")
    s = ingest_paths(store, [tmp_path / "inputs"], workers=1)
    assert s.rejected == 0, s.problems
    # Apple 07:30:15 EDT = 11:30:15 UTC, 45.2 min; WHOOP 11:30:00 UTC, 45.5 min -> one workout (alice only)
    assert s.merged_sessions == 1
    m = read_merges(store)
    assert m.height == 1
    r = m.row(0, named=True)
    assert (r["table_name"], r["athlete_id"], r["kept_source"], r["dropped_source"]) == (
        "sessions",
        "alice",
        "apple_health",
        "whoop",
    )
    assert r["start_diff_s"] == 15.0
    assert r["dropped_source_file"].endswith("alice/workouts.csv")
    assert r["kept_source_file"].endswith("alice/export.xml")
    assert r["filled"] == "avg_hr_bpm;max_hr_bpm;energy_kcal;device_load;device_load_kind"
    # stored rows are never deleted
    assert store.read_table("sessions", ["alice"]).height == 4
    # a second run with nothing new: no new merges, the table is unchanged
    s2 = ingest_paths(store, [tmp_path / "inputs"], workers=1)
    assert s2.merged_sessions == 0 and read_merges(store).height == 1
    # a new file for alice re-evaluates her merges; the known one is not counted again
    shutil.copy(FIX / "whoop" / "sleeps.csv", alice / "sleeps.csv")
    s3 = ingest_paths(store, [tmp_path / "inputs"], workers=1)
    assert s3.ingested == 1 and s3.merged_sessions == 0 and read_merges(store).height == 1


def test_cli_summary_prints_merges(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    alice = tmp_path / "inputs" / "alice"
    alice.mkdir(parents=True)
    shutil.copy(FIX / "whoop" / "workouts.csv", alice / "workouts.csv")
    (alice / "export.xml").write_text(APPLE_RUN)
    res = CliRunner().invoke(
        app, ["ingest", str(tmp_path / "inputs"), "--store", str(tmp_path / "st"), "--workers", "1"]
    )
    assert res.exit_code == 0, res.output
    assert "merged 1 duplicate workouts across sources" in res.output


def test_cli_ledger_merges(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    alice = tmp_path / "inputs" / "alice"
    alice.mkdir(parents=True)
    shutil.copy(FIX / "whoop" / "workouts.csv", alice / "workouts.csv")
    (alice / "export.xml").write_text(APPLE_RUN)
    st = str(tmp_path / "st")
    runner = CliRunner()
    assert runner.invoke(app, ["ledger", "--merges", "--store", st]).output.strip() == "no duplicates merged"
    runner.invoke(app, ["ingest", str(tmp_path / "inputs"), "--store", st, "--workers", "1"])
    out = runner.invoke(app, ["ledger", "--merges", "--store", st]).output
    assert "kept apple_health 2024-03-11T11:30:15+00:00" in out and "dropped whoop 2024-03-11T11:30:00+00:00" in out
    assert "start 15 s apart" in out and "total: 1 duplicates merged" in out
    res = runner.invoke(app, ["ledger", "--merges", "--store", st, "--csv", str(tmp_path / "m.csv")])
    assert res.exit_code == 0 and pl.read_csv(tmp_path / "m.csv").height == 1


def test_nights_from_two_sources_are_ledgered(tmp_path):
    alice = tmp_path / "inputs" / "alice"
    alice.mkdir(parents=True)
    shutil.copy(FIX / "whoop" / "sleeps.csv", alice / "sleeps.csv")
    (alice / "export.xml").write_text("""<HealthData locale="en_US">
 <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="Apple Watch" startDate="2024-03-10 23:10:00 -0400"
  endDate="2024-03-11 06:45:00 -0400" value="HKCategoryValueSleepAnalysisAsleepUnspecified"/>
</HealthData>""")
    store = Store(tmp_path / "store")
    s = ingest_paths(store, [tmp_path / "inputs"], workers=1)
    assert (s.merged_sessions, s.merged_nights) == (0, 1)
    m = read_merges(store).row(0, named=True)
    # WHOOP (sleep priority 1) is kept over Apple Health (7) for the night ending 2024-03-11
    assert (m["table_name"], m["kept_source"], m["dropped_source"]) == ("sleep", "whoop", "apple_health")
    assert m["reason"].startswith("main sleep ending 2024-03-11")
