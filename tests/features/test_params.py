"""FeatureParams validation: the error names the parameter, the allowed range and the value."""

from __future__ import annotations

import dataclasses

import pytest

from features.params import DEFAULT_PARAMS, FeatureParams


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"acute_days": 1}, "FeatureParams.acute_days must be an integer in [2, 60], got 1"),
        ({"chronic_days": 28.0}, "FeatureParams.chronic_days must be an integer in [2, 365], got 28.0"),
        ({"ctl_tau_d": 0}, "FeatureParams.ctl_tau_d must be a real number in (0, 1000], got 0"),
        ({"atl_tau_d": float("nan")}, "FeatureParams.atl_tau_d must be a real number in (0, 1000], got nan"),
        ({"sleep_need_h": 25}, "FeatureParams.sleep_need_h must be a real number in (0, 24], got 25"),
        ({"hard_day_factor": 1.0}, "FeatureParams.hard_day_factor must be a real number in (1, 100], got 1.0"),
        ({"strain_quantile": 1.5}, "FeatureParams.strain_quantile must be a real number in [0, 1], got 1.5"),
        ({"min_valid_days": True}, "FeatureParams.min_valid_days must be an integer in [1, 60], got True"),
        ({"chronic_days": 7}, "FeatureParams.chronic_days must be larger than acute_days (7), got 7"),
        ({"baseline_min_values": 61}, "FeatureParams.baseline_min_values must be in [2, baseline_days = 60], got 61"),
        ({"min_valid_days": 8}, "FeatureParams.min_valid_days must be in [1, mean_window_d = 7], got 8"),
        (
            {"wellness_source_priority": "oura"},
            "FeatureParams.wellness_source_priority must be a tuple of source names",
        ),
    ],
)
def test_invalid_values(kw, message):
    with pytest.raises(ValueError) as err:
        FeatureParams(**kw)
    assert str(err.value).startswith(message)


def test_defaults_and_derived_values():
    p = DEFAULT_PARAMS
    assert (p.acute_days, p.chronic_days, p.ctl_tau_d, p.atl_tau_d, p.sleep_need_h) == (7, 28, 42.0, 7.0, 8.0)
    assert (p.baseline_days, p.baseline_min_values, p.min_valid_days) == (60, 14, 3)
    # lookback of the incremental update: the 60-day baseline d-60..d-1, plus the state row
    assert p.history_days == 61
    # ceil(42 x ln(1.5 / 0.5)) = ceil(46.14) = 47
    assert p.hard_day_warmup_days == 47
    assert FeatureParams(sleep_source_priority=["oura", "whoop"]).sleep_source_priority == ("oura", "whoop")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.ctl_tau_d = 10  # type: ignore[misc]
