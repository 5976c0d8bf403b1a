"""One home per score component: every module's view of the components is the registry's.

Adding a component means a ``models.components.REGISTRY`` entry, its per-row rule in
``models/rules.py`` (``@_points``) and its expression in ``models/columnar.py``; these tests
fail when any other module keeps its own list, when an entry lacks a text, a cap parameter,
a FEATURES column or its documentation, and the import-time checks refuse a registry entry
without its points rules.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from features.schemas import ADJUSTMENT_CODES, FEATURES, REASON_CODES
from models import adjustments, columnar, components, evaluate, learned, rules, vocab
from models.components import NAMES, OTHER_CAUSES, REGISTRY, Seen, seen_lines, seen_short
from models.params import ScorerParams
from reports import alerts, facts, weekly
from tests.models import synth

REPO = Path(__file__).resolve().parents[2]
SCORING = (REPO / "docs" / "scoring.md").read_text(encoding="utf-8")
P = ScorerParams()
D = date(2024, 3, 10)


@pytest.fixture(scope="module")
def team_scores():
    """Rule scores of a small synthetic team with a load spike, short sleep and strained recovery."""
    a = synth.load_spike(synth.make_daily("spike", seed=1, phys_ar=0.3), 90, days=10, factor=2.5)
    b = synth.short_sleep(synth.make_daily("sleep", seed=2, phys_ar=0.3), 90, days=7, hours=5.0, seed=2)
    c = synth.strained_recovery(synth.make_daily("hrv", seed=3, phys_ar=0.3), 90, days=10, rhr_up_bpm=8.0)
    feats = synth.to_features(pl.concat([x.frame() for x in (a, b, c)]))
    as_of = feats["date"].max()
    return feats, rules.score_features(feats, as_of=as_of), as_of


# ---------------------------------------------------------------- each entry is complete
@pytest.mark.parametrize("c", REGISTRY, ids=NAMES)
def test_every_entry_has_its_codes_texts_cap_and_columns(c):
    assert c.reason in REASON_CODES and c.reason != "red_flag"
    assert c.reason_text and c.label and c.seen_short is not None
    field = ScorerParams.__dataclass_fields__[c.cap_param]
    assert c.cap(P) == getattr(P, c.cap_param) > 0, field.name
    missing = [col for _, col in c.reads if col not in FEATURES.columns]
    assert not missing, f"{c.name} reads {missing}, which FEATURES does not have"
    assert c.value_column is None or c.value_column in {col for _, col in c.reads}
    assert (c.group == "load") == (c.row == "d-1")  # the timing rule: load from d-1, mornings from d
    assert set(c.adjustments) <= set(ADJUSTMENT_CODES)


@pytest.mark.parametrize("c", REGISTRY, ids=NAMES)
def test_every_entry_is_documented_in_scoring_md(c):
    assert f"`{c.reason}`" in SCORING, f"docs/scoring.md does not name the reason {c.reason}"
    assert f"`{c.cap_param}`" in SCORING
    for _, col in c.reads:
        assert f"`{col}`" in SCORING, f"docs/scoring.md's timing table does not name {col} ({c.name})"


def test_names_and_reasons_are_unique_and_in_schema_order():
    assert len(set(NAMES)) == len(NAMES) == len(REGISTRY)
    assert [c.reason for c in REGISTRY] == [r for r in REASON_CODES if r != "red_flag"]


# ---------------------------------------------------------------- one set of names everywhere
def test_the_per_row_rules_are_the_registry_with_its_row_arguments():
    assert list(rules._ORACLES) == list(NAMES) and list(rules.COMPONENTS) == list(NAMES)
    for c in REGISTRY:
        fn = rules._ORACLES[c.name]
        assert fn.__name__ == c.name
        assert len(inspect.signature(fn).parameters) == len(c.offsets) + 1, c.name  # rows, then params
        assert rules.COMPONENTS[c.name] == (c.reason, c.row)


def test_the_columnar_expressions_are_the_registry_with_its_caps():
    exprs = columnar._component_exprs(P)
    assert list(exprs) == list(NAMES)
    assert [e[3] for e in exprs.values()] == [c.cap(P) for c in REGISTRY]
    wanted = {col for c in REGISTRY for r, col in c.reads if r == "d-1"}
    assert wanted <= set(columnar._LOAD_COLS)
    assert {col for c in REGISTRY for r, col in c.reads if r == "d"} <= set(columnar._TODAY_COLS)


def test_scores_evaluate_and_columnar_name_the_registry_components(team_scores):
    feats, scores, as_of = team_scores
    for cj in scores["components_json"].to_list():
        entries = json.loads(cj)
        assert [e["component"] for e in entries] == list(NAMES)
        assert [e["reason"] for e in entries] == [c.reason for c in REGISTRY]
        assert [e["row"] for e in entries] == [c.row for c in REGISTRY]
    comp_cols = [c for c in evaluate._component_points(scores).columns if c.startswith("comp_")]
    assert comp_cols == [f"comp_{n}" for n in NAMES]
    nums = columnar.score_numbers(feats, as_of=as_of)
    assert [c for c in nums.columns if c.startswith("pts_")] == [f"pts_{n}" for n in NAMES]


def test_learned_model_inputs_belong_to_registry_components():
    assert set(learned.FEATURE_COLUMNS) == {col for c in REGISTRY for col, _ in c.learned}
    for c in REGISTRY:
        for col, sign in c.learned:
            assert learned.FEATURE_REASON[col] == c.reason and learned.FEATURE_DIRECTION[col] == sign == sign**3
    # a component without learned inputs is one the model does not see (CTL ramp: TSS-like units only)
    assert {c.name for c in REGISTRY if not c.learned} == {"ctl_ramp"}


def test_texts_and_reports_read_the_registry():
    assert vocab.REASON_TEXT == {**{c.reason: c.reason_text for c in REGISTRY}, "red_flag": "red-flag symptom reported"}
    assert set(vocab.REASON_TEXT) == set(REASON_CODES)
    assert {n: weekly.COMPONENT_LABEL[n] for n in NAMES} == {c.name: c.label for c in REGISTRY}
    assert set(weekly.COMPONENT_LABEL) == {*NAMES, "red_flag"}
    assert alerts.LOAD_REASONS == {c.reason for c in REGISTRY if c.group == "load"}
    assert set(components.columns_at("d-1")) <= set(facts.LOAD_COLS)


#: Modules that name every component for a reason: the registry; the points formulas (the per-row
#: rules and the columnar expressions, each checked against the registry when it is built); the
#: advice rules (every cause/code pair is checked against the registry's ``adjustments``).
#: modules keyed by component on purpose: the registry, the per-row points and rule texts (the oracle),
#: their columnar twins (numbers; rule and advice texts), checked equal to the oracle by
#: tests/models/test_columnar.py, and the advice
KEYED_BY_COMPONENT = {
    "models/components.py",
    "models/rules.py",
    "models/columnar.py",
    "models/columnar_text.py",
    "models/adjustments.py",
}


def test_no_second_list_of_component_names_in_the_code():
    """No other module spells out the nine names or reason codes (a list of its own)."""
    names = [c.name for c in REGISTRY]
    reasons = [c.reason for c in REGISTRY]
    offenders = []
    for pkg in ("models", "reports", "pipelines"):
        for f in sorted((REPO / pkg).rglob("*.py")):
            if f.relative_to(REPO).as_posix() in KEYED_BY_COMPONENT:
                continue
            text = f.read_text(encoding="utf-8")
            for vocab_list in (names, reasons):
                if sum(f'"{x}"' in text for x in vocab_list) >= len(vocab_list) - 1:
                    offenders.append(f"{f.relative_to(REPO)} quotes {vocab_list}")
    assert not offenders, "\n".join(offenders)


# ---------------------------------------------------------------- advice codes per component
def test_every_adjustment_is_one_its_cause_can_trigger(team_scores):
    _, scores, _ = team_scores
    seen = set()
    for aj in scores["adjustments_json"].to_list():
        for a in json.loads(aj):
            c = components.by_reason(a["cause"])
            allowed = c.adjustments if c is not None else OTHER_CAUSES[a["cause"]]
            assert a["code"] in allowed, a
            seen.add((a["cause"], a["code"]))
    assert ("acwr_spike", "cut_volume") in seen and ("sleep_debt", "prioritise_sleep") in seen


def test_an_adjustment_its_cause_does_not_list_is_refused():
    with pytest.raises(ValueError, match="'vary_load' is not one that 'sleep_debt' can cause"):
        adjustments._adj("vary_load", "sleep_debt")
    assert adjustments._adj("vary_load", "monotony", monotony=2.6, threshold=2.0).cause == "monotony"


# ---------------------------------------------------------------- alert texts read the component
def _entry(name, value, cap=10.0):
    c = components.spec(name)
    return {"component": name, "reason": c.reason, "points": 5.0, "cap": cap, "value": value, "rule": "r"}


def test_alert_sentences_quote_the_stored_value_of_the_component():
    fc = {"hrv_z": -0.4, "sleep_7d_h": 7.9, "sleep_baseline_h": 7.26, "weekly_change_pct": 5.0, "sleep_debt_7d_h": 6.25}
    stored = [_entry("hrv", -1.26), _entry("sleep", 5.14), _entry("weekly_jump", 42.0)]
    lines = seen_lines(["weekly_ramp", "hrv_suppressed", "sleep_debt"], fc, P, stored)
    assert lines == [
        "The last 7 days' load is 42 % higher than the 7 days before.",
        "Heart-rate variability: 7-day average 1.3 SD below your own 60-day baseline.",
        # the sleep rule's own reference: the athlete's usual sleep (7.26 - 5.14 = 2.12 h less)
        "Sleep: 5.1 h a night over the last 7 nights, 2.1 h less than your usual 7.3 h.",
    ]
    # no usual sleep yet: the 6-h floor; a coach's fixed need when one is set
    no_base = {k: v for k, v in fc.items() if k != "sleep_baseline_h"}
    assert seen_lines(["sleep_debt"], no_base, P, stored) == [
        "Sleep: 5.1 h a night over the last 7 nights, below the 6-h floor."
    ]
    coach = P.replace(coach_sleep_need_h=8.0)
    assert seen_short(["sleep_debt"], fc, coach, stored) == [
        "you slept 5.1 h a night this week (your coach's target is 8 h)"
    ]
    # without a stored entry the component's FEATURES column is quoted
    assert seen_lines(["hrv_suppressed"], fc, P) == [
        "Heart-rate variability: 7-day average 0.4 SD below your own 60-day baseline."
    ]
    # short phrases in the order of the codes given (largest points first)
    assert seen_short(["sleep_debt", "weekly_ramp"], fc, P, stored) == [
        "you slept 5.1 h a night this week (2.1 h less than usual)",
        "you trained 42 % more than the week before",
    ]


def test_a_learned_models_entries_are_not_component_values():
    # a learned score's components_json lists model inputs (cap None): not the component's value
    fc = {"monotony": 2.34}
    stored = [{"component": "monotony", "reason": "monotony", "points": 0.3, "cap": None, "value": 9.9}]
    assert seen_lines(["monotony"], fc, P, stored) == [
        "Training monotony 2.3 (above 2 means little day-to-day variation)."
    ]


def test_back_pain_is_described_on_red_flag_days_too():
    fc = {"back_pain_0_10": 7.0, "back_pain_streak_d": 5}
    assert seen_lines(["red_flag"], fc, P) == ["Back pain 7/10, 5 days in a row."]
    assert seen_lines(["red_flag"], fc, P, [_entry("back_symptoms", 6.0)]) == ["Back pain 6/10, 5 days in a row."]


def test_format_alert_reads_components_json_of_the_named_day(team_scores):
    feats, scores, as_of = team_scores
    row = scores.filter((pl.col("athlete_id") == "hrv") & pl.col("reasons").str.contains("hrv_suppressed")).row(
        0, named=True
    )
    f = feats.filter((pl.col("athlete_id") == "hrv") & (pl.col("date") == row["date"])).row(0, named=True)
    stored = {e["component"]: e for e in json.loads(row["components_json"])}
    a = alerts.format_alert("hrv", "Hal", "high_band", row["date"], row["date"], f, row, 1, params=P)
    assert f"7-day average {abs(stored['hrv']['value']):.1f} SD below" in a.body
    # the rule each component stored is what the alert lists as "what added points"
    assert stored["hrv"]["rule"] in a.body


# ---------------------------------------------------------------- a new entry fails loudly
def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_a_registry_entry_without_its_points_rule_is_refused_at_import():
    patch = (
        "import dataclasses, models.components as C\n"
        "extra = dataclasses.replace(C.spec('hrv'), name='hrv2')\n"
        "C.REGISTRY += (extra,); C.NAMES += ('hrv2',); C._BY_NAME['hrv2'] = extra\n"
    )
    r = _run(patch + "import models.rules\n")
    assert r.returncode != 0 and "per-row points rules" in r.stderr and "hrv2" in r.stderr
    # columnar, imported after the entry was added, refuses it when it builds its expressions
    r = _run(
        "import dataclasses, models.rules, models.components as C\n"
        "extra = dataclasses.replace(C.spec('hrv'), name='hrv2')\n"
        "C.REGISTRY += (extra,); C.NAMES += ('hrv2',); C._BY_NAME['hrv2'] = extra\n"
        "import models.columnar\n"
        "from models.params import ScorerParams\n"
        "models.columnar._component_exprs(ScorerParams())\n"
    )
    assert r.returncode != 0 and "expressions for" in r.stderr and "hrv2" in r.stderr


def test_registry_check_names_what_is_wrong(monkeypatch):
    bad = dataclasses.replace(REGISTRY[0], cap_param="acwr_kap")
    monkeypatch.setattr(components, "REGISTRY", (bad, *REGISTRY[1:]))
    with pytest.raises(ValueError, match="cap parameter 'acwr_kap' is not a ScorerParams field"):
        components._check_registry()
    bad = dataclasses.replace(REGISTRY[0], reads=(("d-2", "acwr_ewma"),))
    monkeypatch.setattr(components, "REGISTRY", (bad, *REGISTRY[1:]))
    with pytest.raises(ValueError, match="load_spike"):
        components._check_registry()
    with pytest.raises(KeyError, match="unknown score component 'acwr'"):
        components.spec("acwr")


def test_oracle_rows_follow_the_registry_offsets():
    # weekly jump is the one component that reads d-8: a week with none before it gives the cap
    day = rules.score_day(
        {"athlete_id": "a", "date": D},
        {"acute_7d_au": 900.0, "chronic_28d_au": 300.0},
        {"acute_7d_au": 0.0},
    )
    assert components.spec("weekly_jump").offsets == ("d-1", "d-8")
    assert day.component("weekly_jump").points == P.weekly_jump_cap
    assert day.component("hrv").row == "d" and day.component("load_spike").row == "d-1"


def test_seen_value_is_none_for_non_numbers():
    s = Seen(None, {}, P)
    for c in REGISTRY:
        if c.seen is not None and c.name not in ("rhr",):
            assert c.seen(s) is None, c.name


def test_format_alert_quotes_one_day_only(team_scores):
    """A FEATURES row of another day than the score row: the facts are quoted, never mixed with stored values."""
    feats, scores, _ = team_scores
    row = scores.filter((pl.col("athlete_id") == "hrv") & pl.col("reasons").str.contains("hrv_suppressed")).row(
        0, named=True
    )
    other = feats.filter((pl.col("athlete_id") == "hrv") & (pl.col("date") == row["date"] - timedelta(days=30)))
    f = {**other.row(0, named=True), "hrv_z": -2.04}
    a = alerts.format_alert("hrv", "Hal", "high_band", row["date"], row["date"], f, row, 1, params=P)
    assert "7-day average 2.0 SD below" in a.body


@pytest.mark.parametrize(
    ("v", "ok"),
    [(1, True), (2.5, True), (-0.0, True), (True, False), (float("nan"), False), (float("inf"), False), ("3", False)],
)
def test_is_finite_number_is_the_one_test_of_printable_values(v, ok):
    import reports.alerts
    import reports.facts
    import reports.weekly
    from models.components import is_finite_number

    assert is_finite_number(v) is ok
    # one home: the report and alert modules use this function, not copies
    assert reports.alerts._ok is reports.facts._ok is reports.weekly._ok is is_finite_number
