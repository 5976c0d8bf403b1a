"""Prefect's temporary API server, started early so that it boots while the pipeline loads.

Without ``PREFECT_API_URL``, Prefect starts a temporary ("ephemeral") API
server the first time a flow runs: a ``uvicorn`` subprocess that imports
Prefect's server (FastAPI, SQLAlchemy), opens the SQLite database under
``PREFECT_HOME`` and answers ``/api/health``. On the 2-core reference machine
that takes 3.5-4.5 s (much longer on a fresh ``PREFECT_HOME``, which runs the
migrations), and only starts after this process has imported Prefect, polars
and the pipeline (about 1.3 s).

:class:`EarlyServer` starts the very same server command before those imports,
so both boot in parallel, and hands its URL to Prefect with
``temporary_settings`` for the flow run. It is used only when no API is
configured: with ``PREFECT_API_URL`` (environment, Prefect profile, or a test
harness) the configured server is used and an early server is stopped unused.
Anything unexpected (the port taken, the process exiting, no health answer in
``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``) falls back to Prefect's
own start-up, so this is an optimisation, never a new way to fail.

On Linux the server gets ``PR_SET_PDEATHSIG``: when the run is killed (even by
SIGKILL, as the crash-safety tests do) the server goes with it instead of
lingering as an orphan, which Prefect's own temporary server does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["EarlyServer", "early_server", "use_api", "api_url_configured"]

_ENV_OFF = "STRAINWATCH_EARLY_PREFECT_SERVER"  # "0" turns the early start off
_STOPPING: list[subprocess.Popen[bytes]] = []


def api_url_configured() -> bool:
    """True when Prefect is told to use an existing API (env, profile or a test harness).

    Imports ``prefect.settings`` (the caller imports Prefect anyway).
    """
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class EarlyServer:
    """Prefect's ephemeral API server command, started by us (see the module docstring).

    Parameters
    ----------
    startup_timeout_s : float, optional
        Longest wait for ``/api/health``; default
        ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` or 90.
    """

    def __init__(self, startup_timeout_s: float | None = None) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.started_at = 0.0
        self.ready_after_s: float | None = None
        self.problem: str | None = None
        env_timeout = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
        self.timeout_s = float(startup_timeout_s or (env_timeout if env_timeout else 90))

    @property
    def url(self) -> str | None:
        """``http://127.0.0.1:<port>/api`` once started."""
        return f"http://127.0.0.1:{self.port}/api" if self.port else None

    def start(self) -> bool:
        """Launch the server process; False (and :attr:`problem`) when it cannot be launched."""
        spec = importlib.util.find_spec("prefect")
        if spec is None or not spec.submodule_search_locations:
            self.problem = "prefect is not installed"
            return False
        app_dir = str(Path(list(spec.submodule_search_locations)[0]).parent)
        self.port = _free_port()
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            app_dir,
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ]
        try:
            self.process = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except OSError as err:
            self.problem = f"could not start the Prefect server: {err}"
            self.process = None
            return False
        self.started_at = time.perf_counter()
        return True

    def wait_ready(self) -> str | None:
        """Block until ``/api/health`` answers; the API URL, or None (see :attr:`problem`)."""
        if self.process is None:
            return None
        deadline = self.started_at + self.timeout_s
        health = f"{self.url}/health"
        while time.perf_counter() < deadline:
            code = self.process.poll()
            if code is not None:
                err = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")
                self.problem = f"the Prefect server exited with code {code}: {err.strip()[-500:]}"
                self.process = None
                return None
            try:
                with urllib.request.urlopen(health, timeout=2) as r:
                    if r.status == 200:
                        self.ready_after_s = time.perf_counter() - self.started_at
                        return self.url
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.05)
        self.problem = f"the Prefect server did not answer within {self.timeout_s:.0f} s"
        self.stop()
        return None

    def stop(self, *, wait: bool = True) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s).

        With ``wait=False`` only SIGTERM is sent: the server finishes shutting
        down (about 0.2 s) while this process prints its summary and exits.
        """
        p, self.process = self.process, None
        if p is None:
            return
        if not wait:
            if p.poll() is None:
                p.terminate()
                _STOPPING.append(p)  # keep the handle: no ResourceWarning while it shuts down
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p.stderr:
            p.stderr.close()


@contextlib.contextmanager
def early_server() -> Iterator[EarlyServer | None]:
    """Start :class:`EarlyServer` now unless an API is configured; stop it on exit.

    Yields None when the early start does not apply (``PREFECT_API_URL`` in the
    environment, ``STRAINWATCH_EARLY_PREFECT_SERVER=0``, Prefect already
    imported, or the launch failed): Prefect then starts its own server.
    """
    if os.environ.get("PREFECT_API_URL") or os.environ.get(_ENV_OFF) == "0" or "prefect" in sys.modules:
        yield None
        return
    srv = EarlyServer()
    if not srv.start():
        yield None
        return
    try:
        yield srv
    finally:
        srv.stop(wait=False)


@contextlib.contextmanager
def use_api(srv: EarlyServer | None) -> Iterator[str | None]:
    """Settings for an in-process run on a temporary server; yield the early server's URL.

    With a configured API (``PREFECT_API_URL`` in the environment or profile, a
    test harness) nothing changes and ``srv`` is stopped unused. Otherwise the
    run is against a temporary server that dies with this process, so:

    * ``PREFECT_API_URL`` points at ``srv`` once it answers (None is yielded,
      and Prefect starts its own server, when it failed: see ``srv.problem``);
    * flow-run heartbeats are off (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``).
      They let a long-lived server mark crashed runs, which a temporary server
      cannot outlive to do, and each flow's heartbeat thread is joined at the
      end of the flow, in 1-s sleeps: up to a second per flow and subflow.
    """
    if api_url_configured():
        if srv is not None:
            srv.stop()
        yield None
        return
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    updates: dict[Any, Any] = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    url = srv.wait_ready() if srv is not None else None
    if url is not None:
        updates[PREFECT_API_URL] = url
    with temporary_settings(updates=updates):
        yield url
