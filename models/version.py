"""Version of the score formulas: part of the stored scores' fingerprint.

Bump :data:`SCORES_FORMULA_VERSION` in any change to ``models/`` that gives a
different ``risk_score``, ``risk_band``, reason or adjustment for the same
FEATURES and parameters (a component's points or rule, the coverage rule, the
band edges, the adjustment rules). The nightly flow's parameter fingerprint
(``pipelines.flows.params_fingerprint``) includes it, so the first night of a
release with new formulas rescores every athlete from the first day
(``tests/pipelines/test_formula_version.py``).
"""

from __future__ import annotations

__all__ = ["SCORES_FORMULA_VERSION"]

#: 1: the additive rule scorer of docs/scoring.md as of strainwatch 0.1.
SCORES_FORMULA_VERSION = 1
