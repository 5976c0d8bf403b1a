"""Hypothesis example budgets: the written count in CI, a fifth of it in the inner loop.

``.ci/run`` sets ``HYPOTHESIS_PROFILE=ci``: there ``@settings(max_examples=examples(40))`` draws 40 examples,
the same ones on every run (the ``ci`` profile is derandomized, see ``tests/conftest.py``). Without that
profile (a developer's ``pytest -m "not slow"``) the expensive property tests draw a fifth, at least 5,
and Hypothesis's own default for tests without a count drops from 100 to 25: the examples are random there,
so many short runs still explore widely, and ``HYPOTHESIS_PROFILE=ci`` reproduces CI's counts exactly.
"""

from __future__ import annotations

import math
import os

#: the profile that keeps every written count (set by .ci/run)
FULL_PROFILE = "ci"
#: share of the written count drawn outside CI, and the least number of examples
DEV_SHARE = 0.2
DEV_MIN = 5


def full() -> bool:
    """True when the written example counts apply (``HYPOTHESIS_PROFILE=ci``)."""
    return os.environ.get("HYPOTHESIS_PROFILE") == FULL_PROFILE


def examples(n: int) -> int:
    """``n`` in CI; ``ceil(n / 5)`` but at least 5 (and never more than ``n``) otherwise."""
    if n < 1:
        raise ValueError(f"an example count must be >= 1, got {n!r}")
    if full():
        return n
    return min(n, max(DEV_MIN, math.ceil(n * DEV_SHARE)))
