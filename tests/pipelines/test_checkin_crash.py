"""A check-in server killed (SIGKILL) during a submit leaves the whole answer or none of it.

The server runs as ``strainwatch checkin serve`` in its own process. One test
kills it inside the window between writing the temporary answer file and
renaming it (held open by the test hook ``STRAINWATCH_CHECKIN_TEST_PAUSE_S``);
the other kills it at random moments of eight submits, one athlete each, and
then checks every athlete's stored rows against its inbox file.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from pipelines.checkin import PAUSE_ENV, inbox_dir, issue_token
from pipelines.ingest import ingest_paths
from pipelines.store import Store

REPO = Path(__file__).resolve().parents[2]
FORM = {
    "back_pain": "6",
    "area": "lower_back",
    "soreness": "4",
    "sleep": "2",
    "n_dev": "0",
    "x0_sport": "gym",
    "x0_min": "40",
    "x0_rpe": "7",
    "x1_sport": "run",
    "x1_min": "30",
    "x1_rpe": "5",
    "rf": "leg_weakness",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp_path: Path, root: Path, env_extra: dict | None = None):
    port = free_port()
    cfg = tmp_path / "strainwatch.toml"
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    code = "import sys; from pipelines.cli import main; sys.argv[0] = 'strainwatch'; main()"
    p = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "checkin",
            "serve",
            "--port",
            str(port),
            "--store",
            str(root),
            "--config",
            str(cfg),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok":
                return p, port
        except httpx.HTTPError:
            time.sleep(0.1)
    p.kill()
    raise RuntimeError("check-in server did not start")


def config(tmp_path: Path, ids: list[str]) -> None:
    (tmp_path / "strainwatch.toml").write_text(
        '[team]\ntimezone = "Europe/Berlin"\n' + "".join(f'[[athletes]]\nid = "{a}"\n' for a in ids)
    )


def post_async(url: str) -> threading.Thread:
    def go():
        try:
            httpx.post(url, data=FORM, timeout=30)
        except httpx.HTTPError:
            pass  # the server was killed

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def stored(root: Path, athlete: str) -> tuple[int, int]:
    st = Store(root)
    w = st.read_table("wellness", athletes=[athlete]).filter(pl.col("source") == "checkin")
    s = st.read_table("sessions", athletes=[athlete]).filter(pl.col("source") == "checkin")
    return w.height, s.height


@pytest.mark.slow
def test_killed_before_the_rename_leaves_nothing_then_a_submit_stores_everything(tmp_path):
    root = tmp_path / "store"
    config(tmp_path, ["ana"])
    token = issue_token(root, "ana")
    p, port = start_server(tmp_path, root, {PAUSE_ENV: "5"})
    try:
        t = post_async(f"http://127.0.0.1:{port}/c/ana/{token}")
        folder = inbox_dir(root) / "ana"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (folder.exists() and any(folder.iterdir())):
            time.sleep(0.02)
        tmp_files = list(folder.iterdir())
        assert tmp_files and all(f.name.startswith(".") for f in tmp_files)  # written, not yet renamed
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        t.join(10)
    finally:
        if p.poll() is None:
            p.kill()
    assert not list(inbox_dir(root).rglob("*.checkin.json"))  # no answer file at all
    s = ingest_paths(Store(root), [inbox_dir(root)], pool=False)  # the nightly run's ingest
    assert s.ingested == 0 and s.rejected == 0 and stored(root, "ana") == (0, 0)

    p, port = start_server(tmp_path, root)  # again, undisturbed: the whole answer
    try:
        r = httpx.post(f"http://127.0.0.1:{port}/c/ana/{token}", data=FORM, timeout=30)
        assert r.status_code == 200
    finally:
        p.kill()
        p.wait(10)
    assert stored(root, "ana") == (1, 2)


@pytest.mark.slow
def test_random_kills_during_submits_leave_whole_answers_or_none(tmp_path):
    ids = [f"a{i}" for i in range(8)]
    root = tmp_path / "store"
    config(tmp_path, ids)
    tokens = {a: issue_token(root, a) for a in ids}
    rng = random.Random(20)
    outcomes = []
    for a in ids:
        p, port = start_server(tmp_path, root)
        try:
            t = post_async(f"http://127.0.0.1:{port}/c/{a}/{tokens[a]}")
            time.sleep(
                rng.uniform(0.0, 1.5)
            )  # a submit takes 0.4-1 s on a busy 2-core machine: write, fsync, rename, ingest
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)
            t.join(10)
        finally:
            if p.poll() is None:
                p.kill()
        files = list((inbox_dir(root) / a).glob("*.checkin.json")) if (inbox_dir(root) / a).exists() else []
        outcomes.append((a, len(files), stored(root, a)))
    # what the nightly run does first: ingest the inbox (completes answers whose ingest was cut short)
    ingest_paths(Store(root), [inbox_dir(root)], pool=False)
    whole = 0
    for a, n_files, _before in outcomes:
        assert n_files in (0, 1)
        after = stored(root, a)
        if n_files:
            doc = json.loads(next((inbox_dir(root) / a).glob("*.checkin.json")).read_text())
            assert len(doc["answers"][0]["sessions"]) == 2
            assert after == (1, 2), a  # the whole answer
            whole += 1
        else:
            assert after == (0, 0), a  # none of it
    print(f"whole answers: {whole} of {len(ids)}; before the final ingest: {[(a, n, b) for a, n, b in outcomes]}")
