"""``_note_recordings`` (does a written partition hold several recordings?) equals the per-row ident count."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from features.merge import recording_ident
from pipelines.ingest import _note_recordings
from tests.budget import examples

VALUES = st.one_of(st.none(), st.sampled_from(["", "a", "b", "a|", "|b"]))


@settings(max_examples=examples(200), deadline=None)
@given(
    rows=st.lists(st.tuples(VALUES, VALUES), max_size=30),
    table=st.sampled_from(["sessions", "sleep", "wellness"]),
    with_device=st.booleans(),
)
def test_note_equals_ident_count(rows, table, with_device):
    data = {"source": [r[0] for r in rows]}
    if with_device:
        data["device_id"] = [r[1] for r in rows]
    df = pl.DataFrame(data, schema={c: pl.String for c in data})
    got: dict[str, bool] = {}
    _note_recordings(got, table)("x", df)
    n = df.select(recording_ident(df.columns, by_device=table == "sessions").n_unique()).item() if df.height else 0
    assert got["x"] is (n > 1)


def test_note_by_hand():
    got: dict[str, bool] = {}
    note = _note_recordings(got, "sessions")
    note("one", pl.DataFrame({"source": ["fit", "fit"], "device_id": [None, None]}))
    note("two", pl.DataFrame({"source": ["fit", "fit"], "device_id": ["garmin:1", None]}))
    note("empty", pl.DataFrame({"source": []}, schema={"source": pl.String}))
    # the per-row ident joins with "|": ("a|", "b") and ("a", "|b") both read "a||b", one recording (kept as it was)
    note("sep", pl.DataFrame({"source": ["a|", "a"], "device_id": ["b", "|b"]}))
    assert got == {"one": False, "two": True, "empty": False, "sep": False}
