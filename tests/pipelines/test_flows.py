"""The Prefect flows: wiring, change tracking, idempotence, the run lock, retries.

Only the tests marked with the ``prefect`` fixture start the (session-scoped)
Prefect test harness; the rest call plain functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines import flows
from pipelines.ingest import ingest_paths
from pipelines.store import Store, StoreLockedError
from tests.pipelines import fake_stages, teamgen
from tests.webhook import Webhook

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def prefect(prefect_api_url):
    """The session's one Prefect test harness (``prefect_api_url`` in tests/conftest.py): a second
    harness in the same worker would cost another server start-up (10-15 s on 2 cores)."""
    yield


@pytest.fixture
def fake(monkeypatch):
    """Replace the downstream stages by recording doubles (ingest stays real)."""
    for name, fn in fake_stages.DOUBLES:
        monkeypatch.setattr(flows, name, fn)


def team(tmp_path: Path, n: int = 3, days: int = 20) -> tuple[Path, list[str]]:
    inputs = tmp_path / "inputs"
    ids = teamgen.athlete_ids(n)
    teamgen.write_history(inputs, ids, date(2026, 10, 1), date(2026, 10, 1) + timedelta(days=days - 1))
    return inputs, ids


def config_file(
    tmp_path: Path, inputs: Path, store: Path, extra: str = "", athlete_url: str = "json://127.0.0.1:9/${SW_TEST_TOKEN}"
) -> Path:
    p = tmp_path / "strainwatch.toml"
    p.write_text(
        textwrap.dedent(f"""
        [team]
        name = "Test squad"
        timezone = "Europe/Berlin"
        [store]
        path = "{store}"
        lock_timeout_s = 5
        [inputs]
        folders = ["{inputs}"]
        [run]
        chunk_size = 2
        [features.params]
        sleep_need_h = 7.5
        [[athletes]]
        id = "ath000"
        name = "Ana"
        hr_max_bpm = 190
        alert_urls = ["{athlete_url}"]
    """)
        + extra
    )
    return p


# ---------------------------------------------------------------------- plain functions
def test_chunked():
    assert flows.chunked(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert flows.chunked([], 3) == []
    with pytest.raises(ValueError, match="chunk size must be >= 1"):
        flows.chunked(["a"], 0)


def test_stage_doubles_take_exactly_the_real_parameters():
    """The flows call the stages with explicit keywords; the doubles mirror the real signatures,
    so a renamed or dropped parameter fails these tests instead of being silently skipped."""
    import inspect

    for name, double in fake_stages.DOUBLES:
        real = getattr(flows, name)
        assert list(inspect.signature(double).parameters) == list(inspect.signature(real).parameters), name


def test_flow_tasks_pass_only_parameters_the_stages_accept(tmp_path):
    """Every keyword the stage_args functions build binds to the real stage signature."""
    import inspect

    from pipelines import stage_args
    from pipelines.config import load_config

    cfg = load_config(config_file(tmp_path, tmp_path, tmp_path / "s"))
    d = date(2026, 10, 20)
    for fn, args in (
        (flows.ingest_paths, stage_args.ingest_args(cfg)),
        (flows.run_features, stage_args.features_args(cfg, as_of=d, athletes=["ath000"])),
        (flows.run_scores, stage_args.score_args(cfg, as_of=d)),
        (flows.run_report, stage_args.report_args(cfg, as_of=d)),
        (flows.run_alerts, stage_args.alert_args(cfg, as_of=d)),
    ):
        inspect.signature(fn).bind("store", *(["inputs"] if fn is flows.ingest_paths else []), **args)


def test_run_store_lock_is_a_no_op_but_the_run_lock_excludes_other_processes(tmp_path):
    root = tmp_path / "store"
    with flows.run_lock(root, timeout_s=1):
        with flows.RunStore(root).lock(timeout_s=0):  # a task inside the run
            pass
        with flows.run_lock(root, timeout_s=0):  # nested in the same process
            pass
        code = f"from pipelines.store import Store; Store({str(root)!r}).lock(timeout_s=0.3).__enter__()"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
        assert r.returncode != 0 and "is in use by another strainwatch process" in r.stderr
        assert f"pid {os.getpid()}" in r.stderr


def test_collect_changes_marks_new_athletes_and_dates(tmp_path):
    inputs, ids = team(tmp_path, n=3, days=10)
    st = Store(tmp_path / "store")
    ingest_paths(st, [inputs], workers=1)
    dirty = flows.collect_changes(st)
    # every athlete is new; the history starts on 2026-10-01 (the sleep ending that morning)
    assert set(dirty) == set(ids) and all(v <= "2026-10-01" for v in dirty.values())
    assert flows.collect_changes(st) == dirty  # nothing new: same marks, ledger mark unchanged
    flows._clear_dirty(st, ids, dirty)
    assert flows.collect_changes(st) == {}
    # one athlete drops the files of 2026-10-12 (a late sleep of the 11th-12th night included)
    teamgen.write_day(inputs, [ids[1]], date(2026, 10, 12))
    ingest_paths(st, [inputs], workers=1)
    assert flows.collect_changes(st) == {ids[1]: "2026-10-12"}
    # the same files again (re-ingest is a no-op) change nothing
    ingest_paths(st, [inputs], workers=1)
    assert flows.collect_changes(st) == {ids[1]: "2026-10-12"}


def test_collect_changes_keeps_a_mark_changed_during_the_run(tmp_path):
    st = Store(tmp_path / "store")
    st.set_state(flows.STATE_DIRTY, json.dumps({"a": "2026-10-05", "b": "2026-10-01"}))
    snapshot = {"a": "2026-10-05", "b": "2026-10-03"}  # b got older data after the snapshot
    flows._clear_dirty(st, ["a", "b"], snapshot)
    assert json.loads(st.get_state(flows.STATE_DIRTY)) == {"b": "2026-10-01"}


def test_format_summary_fits_one_screen():
    s = flows.RunSummary(
        flow="nightly",
        as_of="2026-11-15",
        store="data",
        files={"seen": 3, "ingested": 3},
        rows_added=9,
        athletes_total=30,
        athletes_changed=30,
        athletes_processed=30,
        days_scored=30,
        bands={"low": 20, "high": 2, "moderate": 5, "insufficient_data": 3},
        report_path="r.html",
        alerts={"sent": 2},
        rejected=[f"f{i}.csv: bad" for i in range(40)],
        problems=["x"],
    )
    text = flows.format_summary(s)
    assert "flags      2026-11-15: high 2, moderate 5, low 20, insufficient_data 3" in text
    assert "... and 35 more" in text
    assert len(text.splitlines()) < 25


# ---------------------------------------------------------------------- flows (Prefect harness)
def test_nightly_wiring_chunks_changes_and_idempotence(prefect, fake, tmp_path, monkeypatch):
    """Orchestration only (recording stage doubles): which athletes and dates each step gets."""
    monkeypatch.setenv("SW_TEST_TOKEN", "t0k3n")
    inputs, ids = team(tmp_path, n=3)
    store = tmp_path / "store"
    cfg = config_file(tmp_path, inputs, store)

    s1 = flows.run_flow("nightly", as_of="2026-10-20", config_path=str(cfg))
    c1 = fake_stages.calls(store)
    feats = [c for c in c1 if c["stage"] == "features"]
    # 3 athletes in chunks of 2: two feature calls, two score calls, one report, one alert call
    assert sorted(tuple(c["athletes"]) for c in feats) == [tuple(ids[:2]), (ids[2],)]
    assert all(c["since"] is None and c["as_of"] == "2026-10-20" for c in feats)  # first night: everything
    assert feats[0]["params"] == {"sleep_need_h": 7.5}
    assert len([c for c in c1 if c["stage"] == "score"]) == 2
    rep = [c for c in c1 if c["stage"] == "report"]
    assert len(rep) == 1 and rep[0]["week"] == "2026-W43" and rep[0]["names"] == {"ath000": "Ana"}
    al = [c for c in c1 if c["stage"] == "alert"]
    # the alert stage gets the URLs with their secrets unresolved (it resolves and masks them itself)
    assert al[0]["channels"] == {"ath000": ["json://127.0.0.1:9/${SW_TEST_TOKEN}"], "coach": []}
    assert s1.files["ingested"] == 9 and s1.athletes_processed == 3 and s1.days_scored == 30
    assert s1.report_path == str(store / "reports" / "strainwatch-2026-W43.html")

    # same night again: nothing new -> no feature or score call, report untouched, alerts re-checked
    s2 = flows.run_flow("nightly", as_of="2026-10-20", config_path=str(cfg))
    c2 = fake_stages.calls(store)[len(c1) :]
    assert [c["stage"] for c in c2] == ["alert"]
    assert s2.files["unchanged"] == 9 and s2.days_scored == 0 and s2.athletes_processed == 0
    assert s2.report_path.endswith("(unchanged)")

    # a late file for one athlete, same night: only that athlete, from the changed day
    teamgen.write_day(inputs, [ids[1]], date(2026, 10, 15), tables=("sessions",))
    s3 = flows.run_flow("nightly", as_of="2026-10-20", config_path=str(cfg))
    c3 = fake_stages.calls(store)[len(c1) + len(c2) :]
    feats3 = [c for c in c3 if c["stage"] == "features"]
    assert [(c["athletes"], c["since"]) for c in feats3] == [([ids[1]], "2026-10-15")]
    assert s3.athletes_changed == 1 and s3.athletes_processed == 1 and s3.changed_from == "2026-10-15"
    assert [c["stage"] for c in c3] == ["features", "score", "report", "alert"]

    # the next night without new files: every calendar grows by a day, so all athletes
    flows.run_flow("nightly", as_of="2026-10-21", config_path=str(cfg))
    c4 = fake_stages.calls(store)[len(c1) + len(c2) + len(c3) :]
    assert sorted(a for c in c4 if c["stage"] == "features" for a in c["athletes"]) == ids


def test_failed_chunk_fails_the_run_and_keeps_its_athletes_dirty(prefect, fake, tmp_path, monkeypatch):
    inputs, ids = team(tmp_path, n=3)
    store = tmp_path / "store"
    cfg = config_file(tmp_path, inputs, store)
    monkeypatch.setenv("SW_TEST_TOKEN", "x")
    monkeypatch.setenv(fake_stages.FAIL_ATHLETE_ENV, ids[2])
    with pytest.raises(flows.PipelineFailed) as info:
        flows.run_flow("nightly", as_of="2026-10-20", config_path=str(cfg))
    s = info.value.summary
    assert s.failed and any(
        p.startswith("features chunk 1 (ath002..ath002): ValueError: bad data for ath002") for p in s.problems
    )
    assert s.athletes_processed == 2
    assert set(json.loads(Store(store).get_state(flows.STATE_DIRTY))) == {ids[2]}
    assert Store(store).get_state(flows.STATE_AS_OF) is None  # the night is not complete
    monkeypatch.delenv(fake_stages.FAIL_ATHLETE_ENV)
    s2 = flows.run_flow("nightly", as_of="2026-10-20", config_path=str(cfg))
    assert s2.athletes_processed == 3 and not s2.failed  # not complete before: the whole night again
    assert Store(store).get_state(flows.STATE_DIRTY) == "{}"


def test_retries_only_on_io_errors(prefect):
    from prefect import flow, task

    attempts = {"io": 0, "logic": 0}

    @task(**{**flows._TASK_OPTS, "retry_delay_seconds": 0})
    def flaky(kind: str) -> str:
        attempts[kind] += 1
        if attempts[kind] == 1:
            raise (OSError("disk hiccup") if kind == "io" else ValueError("bad value"))
        return "ok"

    @flow
    def f(kind: str) -> str:
        return flaky(kind)

    assert f("io") == "ok" and attempts["io"] == 2
    with pytest.raises(ValueError, match="bad value"):
        f("logic")
    assert attempts["logic"] == 1


# ---------------------------------------------------------------------- processes
def test_second_run_on_a_held_store_refuses_with_a_clear_message(tmp_path):
    store = tmp_path / "store"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pipelines.store import Store\n"
            f"with Store({str(store)!r}).lock(): print('held', flush=True); time.sleep(60)",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        r = subprocess.run(
            [
                sys.executable,
                "-c",
                "from pipelines.cli import main; main()",
                "run",
                "--store",
                str(store),
                "--lock-timeout",
                "1",
                "--as-of",
                "2026-10-20",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        waited = time.monotonic() - t0
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 3, r.stderr
    assert f"is in use by another strainwatch process (pid {holder.pid}); waited 1 s" in r.stderr
    assert waited < 60


def test_a_waiting_run_gets_the_store_when_the_first_finishes(tmp_path):
    store = tmp_path / "store"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pipelines.store import Store\n"
            f"with Store({str(store)!r}).lock(): print('held', flush=True); time.sleep(1.5)",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLockedError):
            with flows.run_lock(store, timeout_s=0.2):
                pass
        t0 = time.monotonic()
        with flows.run_lock(store, timeout_s=30):
            waited = time.monotonic() - t0
    finally:
        holder.wait(timeout=30)
    assert 0.3 < waited < 30


# ---------------------------------------------------------------------- end to end (real stages)
def _snapshot(store: Path) -> dict[str, bytes]:
    """Every stored table file and the outbox rows, byte for byte."""
    import sqlite3

    snap = {str(p.relative_to(store)): p.read_bytes() for p in sorted((store / "tables").rglob("*.parquet"))}
    con = sqlite3.connect(store / "ledger.sqlite")
    try:
        snap["outbox"] = repr(
            con.execute("SELECT alert_id, status, attempts FROM alert_outbox ORDER BY alert_id").fetchall()
        ).encode()
    finally:
        con.close()
    return snap


def test_nightly_end_to_end_idempotent_and_incremental_equals_full(prefect, tmp_path, monkeypatch):
    """The real stages, twice for the same night, then one new day: CI catches Prefect breakage too."""
    inputs, ids = team(tmp_path, n=3, days=40)  # 2026-10-01 .. 2026-11-09
    # ath000 reports a red flag on the last day: an alert must fire, once. (Files of one run are
    # read in path order and the later row wins on the wellness key, hence the name.)
    (inputs / "ath000" / "z-red-flag-daily.csv").write_text(teamgen.DAILY_HEADER + "ath000,2026-11-09,,,7,true\n")
    hook = Webhook()
    store = tmp_path / "store"
    cfg = config_file(
        tmp_path,
        inputs,
        store,
        extra=f'\n[alerts]\ncoach_urls = ["json://127.0.0.1:{hook.port}/coach"]\n',
        athlete_url=f"json://127.0.0.1:{hook.port}/${{SW_TEST_TOKEN}}",
    )
    monkeypatch.setenv("SW_TEST_TOKEN", "x")
    try:
        s1 = flows.run_flow("nightly", as_of="2026-11-09", config_path=str(cfg))
        assert s1.files["ingested"] == 10 and s1.athletes_processed == 3
        # 40 calendar days per athlete are scored (the sleep ending on 10-01 starts each calendar)
        assert s1.days_scored == 3 * 40
        assert s1.bands.get("high", 0) >= 1  # the red flag
        assert Path(s1.report_path).is_file() and Path(s1.report_path).name == "strainwatch-2026-W46.html"
        sent_first = len(hook.raw)
        assert sent_first >= 1 and s1.alerts.get("sent", 0) == sent_first
        scores = Store(store).read_table("scores")
        assert scores.group_by("athlete_id").len().sort("athlete_id")["len"].to_list() == [40, 40, 40]
        assert scores["date"].max() == date(2026, 11, 9)

        before = _snapshot(store)
        report_bytes = Path(s1.report_path).read_bytes()
        s2 = flows.run_flow("nightly", as_of="2026-11-09", config_path=str(cfg))
        assert _snapshot(store) == before  # nothing changed, byte for byte, outbox included
        assert Path(s1.report_path).read_bytes() == report_bytes
        assert len(hook.raw) == sent_first and s2.alerts.get("sent", 0) == 0
        assert s2.days_scored == 0 and s2.athletes_processed == 0

        # the next night: one new day per athlete; the result equals a full run from scratch
        teamgen.write_day(inputs, ids, date(2026, 11, 10))
        s3 = flows.run_flow("nightly", as_of="2026-11-10", config_path=str(cfg))
        assert s3.files["ingested"] >= 3 and s3.athletes_changed == 3
        assert s3.changed_from == "2026-11-10" and s3.days_scored == 3  # one new day each
    finally:
        hook.close()
    import polars.testing as plt

    fresh = tmp_path / "fresh"
    (tmp_path / "fresh-config").mkdir()
    cfg2 = config_file(tmp_path / "fresh-config", inputs, fresh)
    flows.run_flow("nightly", as_of="2026-11-10", config_path=str(cfg2), dry_run=True)
    for table in ("daily", "features", "scores"):
        inc = Store(store).read_table(table).sort("athlete_id", "date")
        full = Store(fresh).read_table(table).sort("athlete_id", "date")
        plt.assert_frame_equal(inc, full, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


# ---------------------------------------------------------------------- scale-out
@pytest.mark.slow
def test_nightly_on_a_dask_cluster_matches_threads(prefect, tmp_path):
    """Per-athlete chunks run on two dask worker processes (scheduler address from the config).

    The workers get the harness's PREFECT_API_URL, as workers of a real cluster
    get the real server's: otherwise each would start its own temporary server.
    """
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("prefect_dask")
    from prefect.settings import PREFECT_API_URL

    inputs, ids = team(tmp_path, n=4, days=35)
    env = {
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": str(REPO),
    }
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=env
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        cfg = config_file(tmp_path, inputs, tmp_path / "dask-store")
        cfg.write_text(
            cfg.read_text().replace(
                "[run]\nchunk_size = 2\n",
                f'[run]\nchunk_size = 1\ntask_runner = "dask"\ndask_address = "{cluster.scheduler_address}"\n',
            )
        )
        s = flows.run_flow("nightly", as_of="2026-11-04", config_path=str(cfg), dry_run=True)
        assert s.athletes_processed == 4 and s.days_scored == 4 * 35
        # the stage code was imported and run on both workers, not in this process only
        loaded = client.run(lambda: __import__("sys").modules.get("pipelines.stage_features") is not None)
        assert len(loaded) == 2 and all(loaded.values())
    (tmp_path / "threads").mkdir()
    cfg2 = config_file(tmp_path / "threads", inputs, tmp_path / "thread-store")
    flows.run_flow("nightly", as_of="2026-11-04", config_path=str(cfg2), dry_run=True)
    import polars.testing as plt

    for table in ("features", "scores"):
        plt.assert_frame_equal(
            Store(tmp_path / "dask-store").read_table(table).sort("athlete_id", "date"),
            Store(tmp_path / "thread-store").read_table(table).sort("athlete_id", "date"),
        )


# ---------------------------------------------------------------------- CLI
def test_cli_run_without_config_file_then_nothing_to_do(prefect, tmp_path, monkeypatch):
    """`strainwatch run --input DIR --store DIR` with no config file at all, twice."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    for k in (
        "PREFECT_LOGGING_LEVEL",
        "PREFECT_LOGGING_LOG_PRINTS",
        "PREFECT_HOME",
        "PREFECT_UI_ENABLED",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
        "STRAINWATCH_CONFIG",
        "STRAINWATCH_STORE",
    ):
        monkeypatch.setenv(k, "")  # recorded, so whatever `run` sets is undone after the test
        monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    inputs, _ = team(tmp_path, n=2, days=30)
    store = tmp_path / "data"
    runner = CliRunner()
    args = [
        "run",
        "--input",
        str(inputs),
        "--store",
        str(store),
        "--as-of",
        "2026-10-30",
        "--dry-run",
        "--summary-json",
        str(tmp_path / "s.json"),
    ]
    r1 = runner.invoke(app, args)
    assert r1.exit_code == 0, r1.output
    assert "strainwatch nightly for 2026-10-30" in r1.output
    assert "athletes   2 in store, 2 with new data, 2 recomputed" in r1.output
    assert "scored     60 athlete-days" in r1.output and "problems   none" in r1.output
    assert json.loads((tmp_path / "s.json").read_text())["days_scored"] == 60
    assert os.environ["PREFECT_HOME"] == str((store / ".prefect").resolve())  # Prefect state inside the store
    assert (store / ".prefect").is_dir()
    r2 = runner.invoke(app, args)
    assert r2.exit_code == 0, r2.output
    assert "nothing changed since the last run for 2026-10-30" in r2.output and "scored     0 athlete-days" in r2.output


def test_cli_run_reports_config_errors_and_bad_dates(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("[run]\nchunk_size = 0\n")
    r = CliRunner().invoke(app, ["run", "--config", str(tmp_path / "bad.toml")])
    assert r.exit_code == 2 and "run.chunk_size: Input should be greater than or equal to 1" in r.output
    r = CliRunner().invoke(app, ["run", "--as-of", "2026-13-01"])
    assert r.exit_code == 2 and "--as-of: expected a date YYYY-MM-DD, got '2026-13-01'" in r.output
    r = CliRunner().invoke(app, ["run", "--input", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "input folder not found" in r.output
    r = CliRunner().invoke(app, ["backfill", "--from", "2026-02-01", "--to", "2026-01-01"])
    assert r.exit_code == 2 and "--to 2026-01-01 is before --from 2026-02-01" in r.output
    # serve needs a real server; in a fresh process (no test harness) without PREFECT_API_URL it says how
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "ph")
    r = subprocess.run(
        [sys.executable, "-c", "from pipelines.cli import main; main()", "serve", "--store", str(tmp_path / "d")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "scheduling needs a Prefect server" in r.stderr, r.stderr
    assert "prefect server start --host 127.0.0.1 --port 4200" in r.stderr


def test_backfill_of_a_past_range_never_truncates_later_days(prefect, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("SW_TEST_TOKEN", "x")
    inputs, ids = team(tmp_path, n=3)
    store = tmp_path / "store"
    cfg = config_file(tmp_path, inputs, store)
    flows.run_flow("nightly", as_of="2026-10-20", config_path=str(cfg))
    n = len(fake_stages.calls(store))
    s = flows.run_flow("backfill", date_from="2026-10-05", date_to="2026-10-10", config_path=str(cfg))
    calls = fake_stages.calls(store)[n:]
    # recomputed up to the last completed night, scores from the range start, no alert
    assert {(c["stage"], c["as_of"], c["since"]) for c in calls} == {
        ("features", "2026-10-20", "2026-10-05"),
        ("score", "2026-10-20", "2026-10-05"),
    }
    assert sorted(a for c in calls if c["stage"] == "score" for a in c["athletes"]) == ids
    assert any("recomputed up to 2026-10-20" in x for x in s.notes)


@pytest.mark.slow  # three nightly runs and a backfill with the real stages: ~30 s
def test_damaged_scores_partition_of_one_athlete_does_not_stop_the_others(prefect, tmp_path, monkeypatch):
    """Issue 13 item 5: a truncated ``scores`` partition used to crash ``run`` before the report and
    the alerts, so no red-flag alert went out for anyone, and ``backfill`` could not repair it."""
    inputs, ids = team(tmp_path, n=3, days=30)  # 2026-10-01 .. 2026-10-30
    store = tmp_path / "store"
    hook = Webhook()
    cfg = config_file(
        tmp_path,
        inputs,
        store,
        extra=f'\n[alerts]\ncoach_urls = ["json://127.0.0.1:{hook.port}/coach"]\n',
        athlete_url=f"json://127.0.0.1:{hook.port}/${{SW_TEST_TOKEN}}",
    )
    monkeypatch.setenv("SW_TEST_TOKEN", "x")
    try:
        flows.run_flow("nightly", as_of="2026-10-29", config_path=str(cfg))
        posts0 = len(hook.raw)
        st = Store(store)
        reference = st.read_table("scores").filter(pl.col("athlete_id") == ids[2])
        bad = st.partition_path("scores", ids[2])
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])  # truncated
        for a in ids[:2]:  # red flags of the two others on the night the partition is damaged
            (inputs / a / "z-red-flag-daily.csv").write_text(teamgen.DAILY_HEADER + f"{a},2026-10-30,,,7,true\n")
        with pytest.raises(flows.PipelineFailed) as exc:
            flows.run_flow("nightly", as_of="2026-10-30", config_path=str(cfg))
        s = exc.value.summary
        (problem,) = [p for p in s.problems if "damaged partition" in p]
        assert str(bad) in problem and "quarantine" in problem and "rebuilt" in problem
        assert s.report_path and Path(s.report_path).is_file()
        new = [b for b in hook.received[posts0:]]
        text = json.dumps(new)
        assert "Ana" in text and ids[1] in text, new  # both red-flag alerts went out
        # the damaged partition was rebuilt from the canonical tables in the same run
        again = Store(store).read_table("scores").filter(pl.col("athlete_id") == ids[2])
        assert again.height == reference.height + 1
        import polars.testing as plt

        plt.assert_frame_equal(
            again.filter(pl.col("date") <= date(2026, 10, 29)), reference, check_exact=False, rel_tol=1e-9, abs_tol=1e-9
        )
        # and the next night is clean
        flows.run_flow("nightly", as_of="2026-10-30", config_path=str(cfg))
        # backfill repairs a damaged scores partition too (it used to fail on it, naming only the table)
        full = Store(store).read_table("scores").filter(pl.col("athlete_id") == ids[2])
        bad.write_bytes(bad.read_bytes()[:-40])
        with pytest.raises(flows.PipelineFailed) as exc:
            flows.run_flow("backfill", date_from="2026-10-20", date_to="2026-10-30", config_path=str(cfg))
        assert any(str(bad) in p for p in exc.value.summary.problems)
        plt.assert_frame_equal(
            Store(store).read_table("scores").filter(pl.col("athlete_id") == ids[2]),
            full,
            check_exact=False,
            rel_tol=1e-9,
            abs_tol=1e-9,
        )
    finally:
        hook.close()
