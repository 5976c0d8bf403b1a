"""docs/design.md describes the tables as the code declares them (features/schemas.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from features.schemas import ADJUSTMENT_CODES, REASON_CODES, RISK_BANDS, TABLES

DESIGN = (Path(__file__).resolve().parents[1] / "docs" / "design.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_column_of_every_table_is_in_the_design(table):
    schema = TABLES[table]
    cols = schema.export_columns() if table == "scores" else list(schema.columns)
    missing = [c for c in cols if not re.search(rf"(?<![\w.]){re.escape(c)}(?![\w(])", DESIGN)]
    assert not missing, f"docs/design.md does not mention {table} columns {missing}"
    assert f"`{table}`" in DESIGN


def test_every_code_of_the_vocabularies_is_in_the_design():
    for code in (*REASON_CODES, *ADJUSTMENT_CODES, *RISK_BANDS):
        assert f"`{code}`" in DESIGN, code


def test_the_check_finds_a_missing_column():
    assert not re.search(r"(?<![\w.])sleep_s(?![\w(])", DESIGN)  # 'asleep_s' is not 'sleep_s'
