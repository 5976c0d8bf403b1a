"""ReadResult.rename_athletes: one rename for device serials, roster aliases and NFC, injuries included."""

from __future__ import annotations

import unicodedata
from datetime import date

import polars as pl

from connectors.base import ReadResult
from pipelines.ingest_ids import checked_ids


def _result(athlete: str) -> ReadResult:
    wellness = pl.DataFrame({"athlete_id": [athlete], "source": ["x"], "date": [date(2021, 3, 1)], "rhr_bpm": [50.0]})
    injuries = pl.DataFrame(
        {
            "athlete_id": [athlete],
            "source": ["x"],
            "date": [date(2021, 3, 2)],
            "body_part": ["lower_back"],
            "severity": ["minor"],
            "is_back": [True],
            "source_file": ["f"],
        }
    )
    return ReadResult(format="x", wellness=wellness, injuries=injuries)


def test_rename_reaches_every_table_and_the_id_list():
    r = _result("alice.s")
    r.rename_athletes({"alice.s": "alice"})
    assert r.athlete_ids == ("alice",)
    assert r.wellness["athlete_id"].to_list() == ["alice"]
    assert r.injuries["athlete_id"].to_list() == ["alice"]  # injury labels follow their athlete


def test_nfd_id_in_injuries_is_stored_as_nfc():
    nfd = unicodedata.normalize("NFD", "Zoë")
    r = checked_ids(_result(nfd), "f.csv")
    assert r.athlete_ids == ("Zoë",) and r.injuries["athlete_id"].to_list() == ["Zoë"]
    assert r.wellness["athlete_id"].to_list() == ["Zoë"]
