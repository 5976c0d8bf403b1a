"""Athlete push texts for every planted scenario of the sample team, golden-tested (issue 16).

The real pipeline (ingest -> features -> score) runs on ``sample_data/inputs``;
every night of the last four weeks is evaluated like the nightly run, with the
athletes' usual training from their own sessions. For each planted scenario
(sample_data/README.md) the first alert of the planted period is kept. Its
short push text must be at most 300 characters, say what we saw, give one
change (loads in time and kilometres of their usual training), say when to see
a clinician, and use no jargon; the texts are compared with
``tests/golden/sample_alerts_short.json`` (``STRAINWATCH_UPDATE_GOLDEN=1`` rewrites it).
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from models.rules import ScorerParams
from reports.alerts import SHORT_MAX, alerts_for_day, push_text
from reports.facts import usual_training

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "sample_alerts_short.json"
UPDATE = os.environ.get("STRAINWATCH_UPDATE_GOLDEN") == "1"
AS_OF = date(2026, 11, 15)
#: athlete -> (planted scenario, first night of its planted period)
SCENARIOS = {
    "carla": ("load spike", date(2026, 11, 5)),
    "dev": ("return after a break", date(2026, 10, 19)),
    "eli": ("a week of poor sleep", date(2026, 11, 9)),
    "fay": ("raised resting HR, suppressed HRV", date(2026, 11, 9)),
    "gus": ("red flag", date(2026, 11, 9)),
}
JARGON = re.compile(r"\b(ACWR|EWMA|AU|monotony|P90|CTL|ATL|TSB|z-?score|SD|cap|rMSSD)\b")

pytestmark = pytest.mark.slow  # ingests the sample team (~6-10 s)


@pytest.fixture(scope="module")
def sample(sample_data_dir, tmp_path_factory):
    inputs = sample_data_dir / "inputs"
    if not inputs.is_dir():
        pytest.skip("sample_data/inputs not generated")
    from pipelines.config import load_config
    from pipelines.ingest import ingest_paths
    from pipelines.stage_features import run_features
    from pipelines.stage_score import run_scores
    from pipelines.store import Store

    cfg = load_config(sample_data_dir / "strainwatch.toml")
    st = Store(tmp_path_factory.mktemp("sample") / "store")
    ingest_paths(st, [inputs], tz_for=cfg.tz_for, workers=1)
    run_features(st, as_of=AS_OF)
    run_scores(st, as_of=AS_OF, params=cfg.scorer_params())
    return cfg, st


def test_short_alert_texts_of_every_planted_scenario(sample):
    cfg, st = sample
    f, s, ses = st.read_table("features"), st.read_table("scores"), st.read_table("sessions")
    p = ScorerParams.from_dict(cfg.scorer_params())
    got: dict[str, dict] = {}
    d = min(start for _, start in SCENARIOS.values())
    while d <= AS_OF:
        for al in alerts_for_day(f, s, as_of=d, names=cfg.names(), params=p, usual=usual_training(ses, as_of=d)):
            if al.athlete_id in SCENARIOS and d >= SCENARIOS[al.athlete_id][1] and al.athlete_id not in got:
                got[al.athlete_id] = {
                    "rule": al.rule,
                    "as_of": d.isoformat(),
                    "short": al.short,
                    "scenario": SCENARIOS[al.athlete_id][0],
                }
                assert push_text(al.body) == al.short  # push channels get exactly this
        d += timedelta(days=1)
    assert sorted(got) == sorted(SCENARIOS), f"scenarios without an alert: {sorted(set(SCENARIOS) - set(got))}"
    for a, g in got.items():
        t = g["short"]
        assert len(t) <= SHORT_MAX, (a, len(t), t)
        assert not JARGON.search(t), (a, JARGON.search(t).group(0), t)
        assert "clinician" in t, (a, t)
        # one change: a single "Next 7 days" / "Today" / "This week" instruction
        assert len(re.findall(r"(Next 7 days|Today|This week|Tonight|Stop training)", t)) >= 1
        assert len(re.findall(r"\b(Next 7 days|This week):", t)) <= 1, t
    assert got["gus"]["rule"] == "red_flag" and "Emergency care now" in got["gus"]["short"]
    # loads in minutes/kilometres of the athlete's usual training
    for a in ("carla", "dev"):
        assert re.search(r"\d+ (h|min)\b.* of (running|riding|rowing|training)", got[a]["short"]), got[a]["short"]
        assert re.search(r"about \d+ km", got[a]["short"]), got[a]["short"]
    if UPDATE or not GOLDEN.exists():
        if not UPDATE:
            pytest.fail(f"{GOLDEN} is missing; create it with STRAINWATCH_UPDATE_GOLDEN=1")
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    assert got == json.loads(GOLDEN.read_text(encoding="utf-8"))
