"""The human vocabularies cover the schema codes exactly and fill cleanly."""

from __future__ import annotations

import pytest

from features.schemas import ADJUSTMENT_CODES, REASON_CODES, RISK_BANDS
from models import vocab


def test_vocabularies_cover_schema_codes():
    assert set(vocab.REASON_TEXT) == set(REASON_CODES)
    assert set(vocab.ADJUSTMENT_TEXT) == set(ADJUSTMENT_CODES)
    assert set(vocab.ADJUSTMENT_GENERIC) == set(ADJUSTMENT_CODES)
    assert set(vocab.BAND_TEXT) == set(RISK_BANDS)


def test_red_flag_list_has_the_brief_items():
    text = vocab.RED_FLAG_TEXT.lower()
    for word in (
        "bladder",
        "bowel",
        "saddle",
        "both legs",
        "below the knee",
        "fever",
        "cancer",
        "weight loss",
        "trauma",
        "one week",
        "emergency",
    ):
        assert word in text, word
    assert len(vocab.RED_FLAGS) == 6


def test_disclaimer_says_not_a_diagnosis():
    assert "not a diagnosis" in vocab.DISCLAIMER


def test_format_adjustment_fills_numbers():
    s = vocab.format_adjustment("cut_volume", target_au=1100, ratio=1.1, chronic_au=1000, cut_pct=31.25, acute_au=1600)
    assert s.startswith("Cut next week's training load to about 1100 AU")
    assert "31 % less than this week's 1600 AU" in s


def test_format_adjustment_falls_back_without_numbers():
    assert vocab.format_adjustment("cut_volume") == vocab.ADJUSTMENT_GENERIC["cut_volume"]
    assert vocab.RED_FLAG_TEXT in vocab.format_adjustment("see_clinician")


def test_format_adjustment_unknown_code():
    with pytest.raises(ValueError, match="unknown adjustment code 'nap'"):
        vocab.format_adjustment("nap")


def test_every_template_formats_with_its_fields():
    for code, fields in vocab.ADJUSTMENT_FIELDS.items():
        values = {f: ("x" if f in ("cause", "red_flags") else 3) for f in fields}
        out = vocab.format_adjustment(code, **values)
        assert "{" not in out
