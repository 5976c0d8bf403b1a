"""Bad input never loses data: every connector fuzzed through ``ingest_paths``.

Each example copies a store that already holds good data from every connector
(the sample team, vendor fixtures, corpus files: ``harness.build_baseline``),
writes one or more mutated real files plus one valid control file into a fresh
input folder, ingests the folder (``workers=1``) and checks
``harness.check_outcome``: the call returns; a rejected file is ledgered with
an error naming it and a line, record or byte offset; the control file is
ingested; every previously stored row is unchanged unless this run re-exported
its key; rows from fuzzed files are plausible; the ledger grows by exactly one
row per input file.

Budgets are small and derandomized (the same examples every run) so that the
module runs in well under 90 s on 2 cores; outside CI (no ``HYPOTHESIS_PROFILE=ci``)
each draws a quarter of its count (``tests.budget.examples``), for the inner loop.
"""

from __future__ import annotations

import io
import random

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import registry
from connectors.base import ReadContext
from connectors.registry import CONNECTOR_MODULES
from tests.budget import examples
from tests.reliability import harness as H

COMMON = dict(suppress_health_check=[HealthCheck.too_slow], database=None, print_blob=False)
ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1")


def _run(baseline, workdir, files: dict[str, bytes], fuzzed: list[str] | None = None, **kw) -> H.Outcome:
    out = H.run_ingest(baseline, files, workdir=workdir, **kw)
    try:
        H.check_outcome(out, list(files) if fuzzed is None else fuzzed)
    finally:
        H.cleanup(out)
    return out


def _rel(seed: H.Seed) -> str:
    return seed.rel


def test_seeds_cover_every_connector(seeds, baseline):
    assert {s.connector for s in seeds} == set(CONNECTOR_MODULES)
    # the unmodified seeds are in the baseline (the Garmin JSON seeds also as members of ivo's zip)
    from pipelines.store import Store

    led = Store(baseline).ledger()
    assert led["status"].is_in(["ingested", "duplicate"]).all() and led.height >= len(seeds)
    assert set(led["format"]) >= {
        "fit",
        "apple_health",
        "strava_activities",
        "garmin_activities_csv",
        "whoop_cycles",
        "oura_trends_csv",
        "garmin_di_activities",
        "fitbit_exercise",
        "generic_csv_sessions",
    }


@settings(max_examples=examples(30), deadline=None, derandomize=True, **COMMON)
@given(data=st.data(), prefix=st.integers(0, 80), tail=st.binary(min_size=0, max_size=3000))
def test_random_bytes(baseline, workdir, seeds, data, prefix, tail):
    """Random bytes, optionally behind the first bytes of a real file (so detection says yes)."""
    seed = data.draw(st.sampled_from(seeds), label="seed")
    _run(baseline, workdir, {_rel(seed): seed.data[:prefix] + tail})


@settings(max_examples=examples(40), deadline=None, derandomize=True, **COMMON)
@given(data=st.data(), frac=st.floats(0.0, 1.0))
def test_truncation(baseline, workdir, seeds, data, frac):
    seed = data.draw(st.sampled_from(seeds), label="seed")
    _run(baseline, workdir, {_rel(seed): H.truncate(seed.data, frac)})


@settings(max_examples=examples(50), deadline=None, derandomize=True, **COMMON)
@given(data=st.data(), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), min_size=1, max_size=8))
def test_byte_flips(baseline, workdir, seeds, data, flips):
    """Byte flips of real corpus/sample files (FIT CRC damage: values are read 'unverified')."""
    seed = data.draw(st.sampled_from(seeds), label="seed")
    _run(baseline, workdir, {_rel(seed): H.flip(seed.data, flips)})


@settings(max_examples=examples(25), deadline=None, derandomize=True, **COMMON)
@given(data=st.data(), encoding=st.sampled_from(ENCODINGS))
def test_wrong_encodings(baseline, workdir, seeds, data, encoding):
    """CSV/JSON/XML exports re-encoded (UTF-16, Windows-1252, Latin-1) with accented text added."""
    seed = data.draw(st.sampled_from([s for s in seeds if s.kind != "binary"]), label="seed")
    rel = _rel(seed)
    out = _run(baseline, workdir, {rel: H.reencode(seed.data, seed.kind, encoding)})
    if out.status(rel) == "rejected" and encoding.startswith("utf-16"):
        assert "UTF-16" in out.error(rel) or "line" in out.error(rel), out.error(rel)


@settings(max_examples=examples(35), deadline=None, derandomize=True, **COMMON)
@given(
    data=st.data(),
    drop=st.lists(st.integers(0, 60), max_size=3),
    extra=st.lists(
        st.tuples(
            st.sampled_from(["Extra", "notes", "x y z", ""]), st.sampled_from(["", "1", "abc", "NaN", "2026-01-01"])
        ),
        max_size=2,
    ),
    order=st.lists(st.integers(0, 9), max_size=12),
)
def test_csv_missing_extra_reordered_columns(baseline, workdir, seeds, data, drop, extra, order):
    seed = data.draw(st.sampled_from([s for s in seeds if s.kind == "csv"]), label="seed")
    _run(baseline, workdir, {_rel(seed): H.reshape_columns(seed.data, drop, extra, order)})


# Strava's activities.csv repeats column names ('Elapsed Time' in two units) and is
# read by position for those, so a reordered Strava file is a different file.
REORDERABLE = ("generic_csv", "whoop", "oura", "garmin_csv", "fitbit")


@pytest.mark.parametrize(
    "seed_name",
    [
        "sessions.csv",
        "sleep.csv",
        "daily.csv",
        "physiological_cycles.csv",
        "sleeps.csv",
        "workouts.csv",
        "oura_trends.csv",
        "Activities.csv",
        "Daily Heart Rate Variability Summary - 2023-05-01.csv",
    ],
)
def test_reordered_columns_and_an_extra_one_give_the_same_rows(baseline, workdir, seeds, seed_name, tmp_path):
    """Column order never matters and an unknown column is ignored: the rows equal the original file's."""
    seed = next(s for s in seeds if s.name == seed_name and s.connector in REORDERABLE)
    rows, _ = H.read_csv_text(seed.data)
    order = list(range(len(rows[0]) + 1))
    random.Random(seed_name).shuffle(order)
    reshaped = H.reshape_columns(seed.data, [], [("Unknown column", "zzz")], order)
    assert reshaped.split(b"\n", 1)[0] != seed.data.split(b"\n", 1)[0]
    rel = _rel(seed)
    out = _run(baseline, workdir, {rel: reshaped})
    assert out.status(rel) == "ingested", out.error(rel)
    # the connector reads both files to the same rows
    ctx = ReadContext(athlete_id=seed.athlete or None, tz="Europe/Berlin")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / seed.name).write_bytes(seed.data)
    (tmp_path / "b" / seed.name).write_bytes(reshaped)
    a = registry.read(tmp_path / "a" / seed.name, ctx)
    b = registry.read(tmp_path / "b" / seed.name, ctx)
    assert a.format == b.format
    assert sum(a.rows().values()) > 0
    for t in H.CANONICAL:
        assert a.tables()[t].drop("source_file").equals(b.tables()[t].drop("source_file")), t


ABSURD_CASES = [(name, op, target, v) for name, op, target, values in H.ABSURD for v in (values or (None,))]


@settings(max_examples=examples(70), deadline=None, derandomize=True, **COMMON)
@given(case=st.sampled_from(ABSURD_CASES), row=st.integers(0, 400), data=st.data())
def test_absurd_values(baseline, workdir, seeds, case, row, data):
    """A 40-hour session, RHR 0 or 400, negative distance, sleep ending before it starts,
    years 1900 and 2200, NaN/inf: rejected with a located error, never stored."""
    name, op, target, value = case
    candidates = [s for s in seeds if s.name == name]
    seed = data.draw(st.sampled_from(candidates), label="seed")
    mutated = H.absurd(seed, op, target, value, row)
    if mutated is None:  # this seed has no such field (e.g. an Apple export without workouts)
        return
    rel = _rel(seed)
    out = _run(baseline, workdir, {rel: mutated})
    if out.status(rel) == "ingested":  # only when the connector treats the value as missing
        assert out.summary.rows_added == 2  # the control file's two rows; the mutated file adds nothing new


@settings(max_examples=examples(10), deadline=None, derandomize=True, **COMMON)
@given(data=st.data())
def test_several_bad_files_in_one_run(baseline, workdir, seeds, data):
    """Bad files next to each other do not affect one another, the control file or the stored rows."""
    picked = data.draw(st.lists(st.sampled_from(seeds), min_size=2, max_size=4, unique_by=lambda s: s.name))
    files = {}
    for i, seed in enumerate(picked):
        how = data.draw(st.sampled_from(["trunc", "flip", "bytes"]))
        if how == "trunc":
            d = H.truncate(seed.data, data.draw(st.floats(0.0, 1.0)))
        elif how == "flip":
            d = H.flip(seed.data, [(data.draw(st.floats(0.0, 1.0)), data.draw(st.integers(1, 255)))])
        else:
            d = data.draw(st.binary(max_size=500))
        files[seed.rel_in(f"m{i}")] = d
    _run(baseline, workdir, files)


@settings(max_examples=examples(20), deadline=None, derandomize=True, **COMMON)
@given(
    how=st.sampled_from(["trunc", "flip"]), frac=st.floats(0.0, 1.0), mask=st.integers(1, 255), count=st.integers(1, 6)
)
def test_damaged_zip_export(baseline, workdir, how, frac, mask, count):
    """The zipped Garmin Connect export of the sample team, truncated or with flipped bytes."""
    import zipfile

    data = H.IVO_ZIP.read_bytes()
    if how == "trunc":
        data = H.truncate(data, frac)
    else:
        data = H.flip(data, [((frac + k * 0.137) % 1.0, mask) for k in range(count)])
    out = H.run_ingest(baseline, {"ivo/garmin_connect_export.zip": data}, workdir=workdir)
    try:
        members = [p for p in out.ledger_new["path"].to_list() if "!" in p]
        if members:  # the archive opened: one ledger row per regular member
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                assert len(members) == len([i for i in zf.infolist() if not i.is_dir()])
        H.check_outcome(out, ["ivo/garmin_connect_export.zip"] if not members else [], zip_members=len(members))
        for m in members:  # rows stored from a damaged member are plausible too
            for t in H.CANONICAL:
                H.check_plausible(out.after.tables[t].filter(pl.col("source_file") == m), t, m)
    finally:
        H.cleanup(out)
