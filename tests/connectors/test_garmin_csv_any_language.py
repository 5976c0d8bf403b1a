"""Garmin Connect activity CSV in any UI language (issue 17): the layout, not the header words.

The four fixtures are read once as they are, then with their header row
replaced by words the translation table has never seen (a language it does
not know, or scrambled tokens): every value must come out the same. Only the
TSS column needs its header, which Garmin leaves untranslated in every
language ("Training Stress Score®").
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import polars as pl
import pytest

from connectors import garmin_csv, registry
from connectors.base import ReadContext
from tests.connectors.vendor_helpers import FIXTURES

DIR = FIXTURES / "garmin_csv"
FILES = sorted(DIR.glob("*.csv"))
CTX = ReadContext(athlete_id="a", tz="Europe/Berlin")
WORDS = ["qor", "tazimu", "vellek", "ombra", "sikt", "purane", "hulda", "zerov", "mavik", "tolun", "brisk", "ekal"]


def _with_header(src: Path, tmp_path: Path, make) -> Path:
    text = src.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    rows[0] = make(rows[0])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    p = tmp_path / "Export.csv"
    p.write_text(out.getvalue(), encoding="utf-8")
    return p


def _scramble(keep_tss: bool, seed: int):
    rng = random.Random(seed)

    def make(header: list[str]) -> list[str]:
        out = []
        for i, h in enumerate(header):
            if keep_tss and "Training Stress Score" in h:
                out.append(h)
            else:
                out.append(" ".join(rng.sample(WORDS, 2)).title() + f" {i}")
        return out

    return make


def _same(a: pl.DataFrame, b: pl.DataFrame, drop: tuple[str, ...] = ()) -> None:
    cols = [c for c in a.columns if c not in ("source_file", *drop)]
    assert a.select(cols).equals(b.select(cols)), (a.select(cols), b.select(cols))


@pytest.mark.parametrize("src", FILES, ids=[p.name for p in FILES])
@pytest.mark.parametrize("seed", [1, 2])
def test_unseen_header_words_give_the_same_values(src, seed, tmp_path):
    want = garmin_csv.read(src, CTX)
    p = _with_header(src, tmp_path, _scramble(keep_tss=True, seed=seed))
    hints = garmin_csv.header_map(next(csv.reader([p.read_text().splitlines()[0]])))
    assert set(hints) <= {"tss"}  # no header word is known but the untranslated TSS
    assert registry.detect(p) is garmin_csv
    unit = "mi" if "miles" in src.name else "km"  # the stride column's name is a hint only: say the unit
    got = garmin_csv.read(p, CTX, unit=unit)
    _same(got.sessions, want.sessions)
    assert any("header language not in the translation table" in w for w in got.warnings)
    assert not any("header language" in w for w in want.warnings)


@pytest.mark.parametrize("src", FILES, ids=[p.name for p in FILES])
def test_units_still_decided_from_values_without_known_headers(src, tmp_path):
    """Without the unit argument: km files stay km; the miles file is told by its walking speeds."""
    want = garmin_csv.read(src, CTX)
    got = garmin_csv.read(_with_header(src, tmp_path, _scramble(keep_tss=True, seed=3)), CTX)
    _same(got.sessions, want.sessions)


@pytest.mark.parametrize("src", FILES, ids=[p.name for p in FILES])
def test_even_the_tss_header_replaced(src, tmp_path):
    want = garmin_csv.read(src, CTX)
    unit = "mi" if "miles" in src.name else "km"
    got = garmin_csv.read(_with_header(src, tmp_path, _scramble(keep_tss=False, seed=4)), CTX, unit=unit)
    # TSS cannot be found without its header; every other value is the same
    _same(got.sessions, want.sessions, drop=("device_load", "device_load_kind"))


def test_a_language_the_table_does_not_know(tmp_path):
    """Polish-like headers (not in HEADERS) on the English km export."""
    pl_header = (
        "Typ aktywności,Data,Ulubiony,Tytuł,Dystans,Kalorie,Czas,Średnie tętno,Maksymalne tętno,Aerobowy TE"
    ).split(",")

    def make(header):
        return pl_header + header[len(pl_header) :]

    src = DIR / "Activities_en_km.csv"
    got = garmin_csv.read(_with_header(src, tmp_path, make), CTX)
    _same(got.sessions, garmin_csv.read(src, CTX).sessions)


@pytest.mark.parametrize(
    "text",
    [
        # a date-time, true/false and a duration in the right places, but too few columns
        "a,b,c,d,e,f,g\nRun,2024-01-01 07:00:00,false,x,1.0,100,00:10:00\n",
        # ten columns but column 2 is not the favourite flag
        "a,b,c,d,e,f,g,h,i,j\nRun,2024-01-01 07:00:00,yes,x,1.0,100,00:10:00,1,2,3\n",
        # ten columns, flag ok, but column 6 is a number, not a duration
        "a,b,c,d,e,f,g,h,i,j\nRun,2024-01-01 07:00:00,true,x,1.0,100,600,1,2,3\n",
        # the generic sessions layout
        "athlete_id,start_local,sport,duration_min,rpe\na,2024-01-01 07:00,run,45,5\n",
    ],
)
def test_other_csvs_are_not_taken_for_garmin(text, tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(text)
    assert not garmin_csv.detect(p, p.read_bytes())


def test_one_damaged_row_in_an_unknown_language_is_a_bad_row(tmp_path):
    src = DIR / "Activities_en_km.csv"
    p = _with_header(src, tmp_path, _scramble(keep_tss=True, seed=5))
    lines = p.read_text().splitlines()
    lines[3] = lines[3].replace("2025-02-08 18:00:00", "08.02.2025 18:00")
    p.write_text("\n".join(lines) + "\n")
    assert registry.detect(p) is garmin_csv  # one damaged row of five does not hide the layout
    from connectors.base import BadRowError, OnBadRow

    with pytest.raises(BadRowError) as info:
        garmin_csv.read(p, CTX)
    assert info.value.line == 4
    res = garmin_csv.read(p, ReadContext(athlete_id="a", tz="Europe/Berlin", on_bad_row=OnBadRow.SKIP))
    assert res.sessions.height == 4 and res.skipped_rows == 1
