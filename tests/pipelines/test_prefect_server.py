"""The early temporary Prefect server of ``strainwatch run`` (pipelines/prefect_server.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines import prefect_server as ps

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture
def prefect_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "prefect-home"
    home.mkdir()
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return home


@pytest.mark.slow  # a real server on a fresh database: ~12 s of migrations; the logic around it has fast tests below
def test_server_answers_and_stops(prefect_home: Path) -> None:
    srv = ps.EarlyServer(startup_timeout_s=90)
    assert srv.start()
    proc = srv.process
    url = srv.wait_ready()
    assert url == f"http://127.0.0.1:{srv.port}/api", srv.problem
    with urllib.request.urlopen(f"{url}/admin/version", timeout=10) as r:
        assert r.status == 200 and json.loads(r.read())  # a real Prefect API, not just a port
    assert (prefect_home / "prefect.db").exists()  # its database is under PREFECT_HOME
    srv.stop()
    assert proc is not None and proc.poll() is not None
    srv.stop()  # idempotent


def test_a_server_that_exits_is_reported_not_waited_for(prefect_home: Path, monkeypatch) -> None:
    srv = ps.EarlyServer(startup_timeout_s=60)
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the "server" exits at once with code 1
    assert srv.start()
    t0 = time.perf_counter()
    assert srv.wait_ready() is None
    assert time.perf_counter() - t0 < 30
    assert "exited with code 1" in (srv.problem or "")


def test_use_api_points_prefect_at_the_server_and_turns_heartbeats_off(monkeypatch) -> None:
    # use_api only needs the URL the server answers on: a real server's start and readiness are
    # test_server_answers_and_stops (a second start here cost 5-15 s of the inner loop)
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    monkeypatch.setattr(ps, "api_url_configured", lambda: False)

    class Ready:
        stopped = False

        def wait_ready(self) -> str:
            return "http://127.0.0.1:49999/api"

        def stop(self) -> None:  # not while the run uses the server
            self.stopped = True

    srv = Ready()
    before = (PREFECT_API_URL.value(), PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value())
    with ps.use_api(srv) as url:  # type: ignore[arg-type]
        assert url == "http://127.0.0.1:49999/api" and PREFECT_API_URL.value() == url
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None
    assert (PREFECT_API_URL.value(), PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()) == before
    assert not srv.stopped


def test_use_api_falls_back_to_prefects_own_server(monkeypatch) -> None:
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setattr(ps, "api_url_configured", lambda: False)
    srv = ps.EarlyServer(startup_timeout_s=5)
    srv.problem = "could not start"  # never started: no process
    before = PREFECT_API_URL.value()
    with ps.use_api(srv) as url:
        assert url is None
        assert PREFECT_API_URL.value() == before  # untouched: Prefect starts its own


def test_a_configured_api_wins_and_the_early_server_is_stopped(monkeypatch) -> None:
    monkeypatch.setattr(ps, "api_url_configured", lambda: True)
    stopped = []

    class Fake:
        def stop(self) -> None:
            stopped.append(True)

        def wait_ready(self) -> str:  # pragma: no cover - must not be called
            raise AssertionError("a configured API must not wait for the early server")

    with ps.use_api(Fake()) as url:  # type: ignore[arg-type]
        assert url is None
    assert stopped == [True]


def test_early_server_is_skipped_when_an_api_url_is_set(monkeypatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    with ps.early_server() as srv:
        assert srv is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_server_dies_with_a_killed_run(prefect_home: Path, tmp_path: Path) -> None:
    """SIGKILL of the run (no atexit, no finally) must not leave the server behind."""
    pidfile = tmp_path / "server.pid"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from pipelines.prefect_server import EarlyServer
        s = EarlyServer(startup_timeout_s=90)
        assert s.start()
        open({str(pidfile)!r}, "w").write(str(s.process.pid))
        s.wait_ready()
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline, "the early server was not started"
            time.sleep(0.05)
        server_pid = int(pidfile.read_text())
        assert _alive(server_pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 15
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(server_pid), "the Prefect server outlived the killed run"


@pytest.mark.slow  # a real `strainwatch run` subprocess with its own server; the parts are tested above
def test_strainwatch_run_uses_the_early_server_and_leaves_nothing_running(tmp_path: Path) -> None:
    """The default path of a user's ``strainwatch run``: no PREFECT_API_URL, a fresh PREFECT_HOME."""
    from datetime import date

    import psutil

    from . import teamgen

    inputs, store = tmp_path / "inputs", tmp_path / "store"
    teamgen.write_history(inputs, teamgen.athlete_ids(2), date(2026, 10, 1), date(2026, 10, 14))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipelines.cli import main; main()",
            "run",
            "--input",
            str(inputs),
            "--store",
            str(store),
            "--as-of",
            "2026-10-14",
            "--summary-json",
            str(tmp_path / "s.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["days_scored"] == 28  # 2 athletes x 14 days
    assert (store / ".prefect" / "prefect.db").exists()  # Prefect's state stays with the data

    def servers() -> list[psutil.Process]:
        found = []
        for p in psutil.process_iter(["cmdline"]):
            try:
                if "prefect.server.api.server:create_app" in " ".join(p.info["cmdline"] or []) and p.environ().get(
                    "PREFECT_HOME"
                ) == str((store / ".prefect").resolve()):
                    found.append(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        return found

    deadline = time.monotonic() + 15
    while servers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not servers(), "the temporary Prefect server outlived the run"
