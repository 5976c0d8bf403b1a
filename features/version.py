"""Version of the feature formulas: part of the stored features' fingerprint.

Bump :data:`FEATURES_FORMULA_VERSION` in any change to ``features/`` that gives
a different DAILY or FEATURES value for the same inputs and parameters (a
corrected formula, a new null rule, a changed merge). Stored features carry a
fingerprint of the parameters *and* this version
(``pipelines.stage_features``, ``pipelines.flows.params_fingerprint``), so the
first run of a release with new formulas recomputes every athlete from the
first day instead of continuing the old values incrementally
(``tests/pipelines/test_formula_version.py``). Adding a column that does not
change existing values needs no bump.
"""

from __future__ import annotations

__all__ = ["FEATURES_FORMULA_VERSION"]

#: 1: the formulas of docs/design.md and the domain brief as of strainwatch 0.1.
FEATURES_FORMULA_VERSION = 1
