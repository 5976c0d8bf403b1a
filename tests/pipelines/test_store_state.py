"""Per-item state maps (``Store.get_state_map`` / ``update_state_map``): atomic."""

from __future__ import annotations

import multiprocessing as mp
import threading
from pathlib import Path

from pipelines.stage_features import STATE_PARAMS
from pipelines.store import Store

KEY = STATE_PARAMS


def _chunk_updates(root: str, chunk: int, athletes: int, rounds: int) -> None:
    """What a feature chunk does at its end, ``rounds`` times: set its own athletes' items."""
    st = Store(root)
    for r in range(rounds):
        st.update_state_map(KEY, {f"c{chunk}-a{i}": f"fp{r}" for i in range(athletes)})


def test_roundtrip_and_remove(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    assert st.get_state_map(KEY) == {}
    st.update_state_map(KEY, {"a": "1", "b": "2"})
    st.update_state_map(KEY, {"b": "3"}, remove=["a"])
    assert st.get_state_map(KEY) == {"b": "3"}
    assert st.get_state_map(KEY, ["b", "zz"]) == {"b": "3"}
    assert st.get_state(KEY) is None  # nothing written in the old JSON format


def test_concurrent_threads_lose_no_update(tmp_path: Path) -> None:
    root = str(tmp_path / "s")
    st = Store(root)
    n_chunks, athletes, rounds = 6, 5, 8
    barrier = threading.Barrier(n_chunks)

    def run(c: int) -> None:
        barrier.wait()
        _chunk_updates(root, c, athletes, rounds)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(n_chunks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = st.get_state_map(KEY)
    want = {f"c{c}-a{i}": f"fp{rounds - 1}" for c in range(n_chunks) for i in range(athletes)}
    assert got == want


def test_concurrent_processes_lose_no_update(tmp_path: Path) -> None:
    # Dask workers of one run: separate processes, no writer lock (RunStore.lock is a no-op)
    root = str(tmp_path / "s")
    n_chunks, athletes, rounds = 4, 5, 6
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_chunk_updates, args=(root, c, athletes, rounds)) for c in range(n_chunks)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    got = Store(root).get_state_map(KEY)
    want = {f"c{c}-a{i}": f"fp{rounds - 1}" for c in range(n_chunks) for i in range(athletes)}
    assert got == want
