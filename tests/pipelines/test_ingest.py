"""ingest_paths: athlete resolution and files without an athlete."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.ingest import ingest_paths
from pipelines.store import Store

REPO = Path(__file__).resolve().parents[2]


def test_file_without_athlete_is_rejected_not_a_crash(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    # a zip straight under the input root: no athlete folder, no --athlete, no athlete column
    shutil.copy(REPO / "sample_data" / "inputs" / "ivo" / "garmin_connect_export.zip", inputs)
    (inputs / "ben").mkdir()
    shutil.copy(REPO / "sample_data" / "inputs" / "ben" / "sleep.csv", inputs / "ben" / "sleep.csv")
    st = Store(tmp_path / "s")
    s = ingest_paths(st, [inputs], workers=1)
    assert s.rejected == 4 and s.ingested == 1
    led = st.ledger()
    rejected = led.filter(led["status"] == "rejected")
    assert rejected["error"].str.contains("no athlete for this file").all()
    assert rejected["path"].str.contains("garmin_connect_export.zip!DI_CONNECT/").all()
    # the same zip with --athlete goes in
    s2 = ingest_paths(st, [inputs], athlete="ivo", workers=1, retry_rejected=True)
    assert s2.rejected == 0 and "ivo" in st.all_athletes()


def test_roster_device_serial_names_the_athlete(tmp_path: Path) -> None:
    """A FIT file outside any athlete folder is attributed through the roster's device serial."""
    from connectors import fit

    src = sorted((REPO / "sample_data" / "inputs" / "hana" / "watch" / "activities").glob("*.fit"))[0]
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(src, inputs / src.name)
    st = Store(tmp_path / "s")
    first = ingest_paths(st, [inputs], workers=1)
    (device_id,) = first.athletes
    assert device_id.startswith("device-")
    st2 = Store(tmp_path / "s2")
    s = ingest_paths(st2, [inputs], workers=1, device_map={device_id.removeprefix("device-"): "hana"})
    assert s.athletes == {"hana"} and st2.all_athletes() == ["hana"]
    assert "device serial" in st2.ledger()["warnings"][0]
    assert fit.FORMAT in s.by_format
