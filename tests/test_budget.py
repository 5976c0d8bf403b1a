"""tests.budget: CI draws every written example count, the inner loop a fifth (at least 5)."""

from __future__ import annotations

import pytest

from tests.budget import examples


def test_ci_profile_keeps_the_written_count(monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "ci")
    assert [examples(n) for n in (1, 3, 10, 40, 300)] == [1, 3, 10, 40, 300]


@pytest.mark.parametrize("profile", [None, "dev"])
def test_inner_loop_draws_a_fifth_but_at_least_five(monkeypatch, profile):
    if profile is None:
        monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    else:
        monkeypatch.setenv("HYPOTHESIS_PROFILE", profile)
    # ceil(n / 5), at least 5, never more than written
    assert [examples(n) for n in (1, 3, 10, 21, 26, 40, 70, 300)] == [1, 3, 5, 5, 6, 8, 14, 60]


def test_a_count_below_one_is_refused():
    with pytest.raises(ValueError, match="example count"):
        examples(0)
