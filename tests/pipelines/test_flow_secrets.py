"""Literal passwords and tokens in alert URLs never reach Prefect's database (issue 13 item 9).

Prefect stores flow-run parameters in its database (``<store>/.prefect/prefect.db``
for ``strainwatch run``) and shows them in its UI. The flows receive the config
path, sub-flows and tasks a config without alert URLs, and the alert task reads
the URLs itself. The tests run the nightly flow with literal secrets in an
athlete's and the coach's URLs and grep the database files byte for byte; a
control string (the config path, a flow parameter) shows the grep can find
what is stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines import flows
from tests.pipelines import fake_stages, teamgen

REPO = Path(__file__).resolve().parents[2]
ATHLETE_SECRET = "LiteralTok3nInAthleteUrl"
COACH_SECRET = "HunterTwoPasswordForCoach"


def _config(tmp_path: Path, store: Path, inputs: Path) -> Path:
    p = tmp_path / "strainwatch.toml"
    p.write_text(
        textwrap.dedent(f"""
        [store]
        path = "{store}"
        [inputs]
        folders = ["{inputs}"]
        [alerts]
        dry_run = true
        coach_urls = ["mailtos://coach:{COACH_SECRET}@mail.example.org"]
        [[athletes]]
        id = "ath000"
        alert_urls = ["ntfys://{ATHLETE_SECRET}@ntfy.example.org/ana", "json://127.0.0.1:9/${{SW_TEST_TOKEN}}"]
    """)
    )
    return p


def _db_bytes(db: Path) -> bytes:
    """The SQLite database with its write-ahead log and shared memory (uncheckpointed rows live there)."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())


def test_config_without_secrets_keeps_everything_but_the_urls(tmp_path):
    from pipelines.config import load_config

    cfg = load_config(_config(tmp_path, tmp_path / "d", tmp_path / "in"))
    clean = cfg.without_secrets()
    assert clean.alert_urls() == {} and cfg.alert_urls()["coach"]  # the original is untouched
    assert ATHLETE_SECRET not in clean.model_dump_json() and COACH_SECRET not in clean.model_dump_json()
    assert clean.model_dump(exclude={"athletes", "alerts"}) == cfg.model_dump(exclude={"athletes", "alerts"})
    assert [a.id for a in clean.athletes] == ["ath000"] and clean.alerts.dry_run is True


def test_nightly_flow_never_stores_alert_secrets(prefect_api_url, tmp_path, monkeypatch):
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    for name, fn in fake_stages.DOUBLES:
        monkeypatch.setattr(flows, name, fn)
    monkeypatch.setenv("SW_TEST_TOKEN", "x")
    inputs = tmp_path / "inputs"
    teamgen.write_history(inputs, teamgen.athlete_ids(2), date(2026, 10, 1), date(2026, 10, 10))
    store = tmp_path / "store"
    cfg = _config(tmp_path, store, inputs)
    s = flows.run_flow("nightly", as_of="2026-10-10", config_path=str(cfg))
    assert s.athletes_processed == 2 and not s.problems
    # the alert stage still gets every URL as written (it resolves ${VAR} and masks secrets itself)
    al = [c for c in fake_stages.calls(store) if c["stage"] == "alert"]
    assert al[0]["channels"] == {
        "ath000": [f"ntfys://{ATHLETE_SECRET}@ntfy.example.org/ana", "json://127.0.0.1:9/${SW_TEST_TOKEN}"],
        "coach": [f"mailtos://coach:{COACH_SECRET}@mail.example.org"],
    }
    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    db = Path(url.split(":///", 1)[1])
    data = _db_bytes(db)
    assert str(cfg).encode() in data  # control: flow parameters are in this database
    assert ATHLETE_SECRET.encode() not in data and COACH_SECRET.encode() not in data


@pytest.mark.slow
def test_strainwatch_run_keeps_secrets_out_of_the_store_prefect_db(tmp_path):
    """The user's path: `strainwatch run` with Prefect's state in <store>/.prefect (real stages)."""
    inputs = tmp_path / "inputs"
    teamgen.write_history(inputs, teamgen.athlete_ids(2), date(2026, 10, 1), date(2026, 10, 1) + timedelta(days=19))
    store = tmp_path / "data"
    cfg = _config(tmp_path, store, inputs)
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}
    env.update(SW_TEST_TOKEN="x", DO_NOT_TRACK="1", PYTHONPATH=str(REPO))
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipelines.cli import main; main()",
            "run",
            "--config",
            str(cfg),
            "--as-of",
            "2026-10-20",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    data = _db_bytes(store / ".prefect" / "prefect.db")
    assert str(cfg).encode() in data
    assert ATHLETE_SECRET.encode() not in data and COACH_SECRET.encode() not in data
    everything = b"".join(p.read_bytes() for p in (store / ".prefect").rglob("*") if p.is_file())
    assert ATHLETE_SECRET.encode() not in everything and COACH_SECRET.encode() not in everything
