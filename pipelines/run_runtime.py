"""Runtime plumbing of the flows: the run's writer lock and :class:`RunStore`, progress callbacks,
the task runner (threads or Dask) and the Prefect API shared with Dask workers.

See "One writer" and "Chunks" in :mod:`pipelines.flows`, which re-exports every public name here.
Importing this module does not import Prefect: ``strainwatch run`` takes :func:`run_lock` before it
starts Prefect's early server (:mod:`pipelines.prefect_server`), which only starts while Prefect is
not imported yet.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipelines.config import Config
from pipelines.store import Store

__all__ = ["RunStore", "run_lock", "set_progress", "build_task_runner", "shared_api_for_workers"]


_INPROC: dict[str, threading.RLock] = {}


_INPROC_GUARD = threading.Lock()


class RunStore(Store):
    """The store as seen by the tasks of a run whose flow holds the writer lock.

    The flow took the real, exclusive (``flock``) lock before any task started
    and releases it after the last one finished; tasks may run in other threads
    or on Dask workers, where that lock cannot be re-entered. ``lock()`` here is
    only an in-process mutex per store directory, so that stage sections that
    read-modify-write shared state (e.g. the features stage's parameter
    fingerprints) do not interleave between chunks running in threads.
    """

    @contextlib.contextmanager
    def lock(self, *args: Any, **kwargs: Any) -> Iterator[None]:  # noqa: D401
        key = str(self.root.resolve())
        with _INPROC_GUARD:
            mutex = _INPROC.setdefault(key, threading.RLock())
        with mutex:
            yield


_HELD: dict[str, int] = {}


_HELD_GUARD = threading.Lock()


@contextlib.contextmanager
def run_lock(root: str | Path, timeout_s: float) -> Iterator[None]:
    """Hold the store's writer lock for a flow run (re-entrant within this process).

    Raises
    ------
    pipelines.store.StoreLockedError
        When another process holds the lock for longer than ``timeout_s``.
    """
    key = str(Path(root).resolve())
    with _HELD_GUARD:
        nested = key in _HELD
        if nested:
            _HELD[key] += 1
    if nested:
        try:
            yield
        finally:
            with _HELD_GUARD:
                _HELD[key] -= 1
        return
    st = Store(root)
    with st.lock(timeout_s=timeout_s):
        with _HELD_GUARD:
            _HELD[key] = 1
        try:
            yield
        finally:
            with _HELD_GUARD:
                _HELD.pop(key, None)


_PROGRESS: Callable[[str, int, int | None], None] | None = None


def set_progress(fn: Callable[[str, int, int | None], None] | None) -> None:
    """Install ``fn(step, done, total)``, called by in-process runs as steps advance."""
    global _PROGRESS
    _PROGRESS = fn


def _progress(step: str, done: int, total: int | None) -> None:
    if _PROGRESS is not None:
        try:
            _PROGRESS(step, done, total)
        except Exception:  # a display problem must never break a run
            pass


def build_task_runner(cfg: Config) -> Any:
    """The task runner of ``[run]``: threads (default) or a Dask cluster through prefect-dask.

    ``task_runner = "dask"`` without ``dask_address`` starts a temporary
    ``LocalCluster`` of ``dask_workers`` single-threaded worker processes with
    the dashboard off; with an address, chunks go to that scheduler.
    """
    if cfg.run.task_runner == "thread":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=cfg.run.max_workers or min(8, (os.cpu_count() or 2) * 2))
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:  # pragma: no cover - depends on the install
        raise RuntimeError('task_runner = "dask" needs the dask extra: pip install "strainwatch[dask]"') from None
    if cfg.run.dask_address:
        return DaskTaskRunner(address=cfg.run.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": cfg.run.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


@contextlib.contextmanager
def shared_api_for_workers(cfg: Config) -> Iterator[str | None]:
    """Make worker processes of a Dask run report to the flow's Prefect API.

    Each process without ``PREFECT_API_URL`` starts its own temporary server
    (seconds each, all on one SQLite file). For a Dask run this starts the
    ephemeral server in this process first (or takes the configured or test
    harness API) and exports ``PREFECT_API_URL`` so that local workers inherit it.
    Remote workers need a real server: set ``PREFECT_API_URL`` on them.
    """
    if cfg.run.task_runner != "dask":
        yield None
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = PREFECT_API_URL.value()
    if not url:
        # ephemeral mode: the flow process already runs a temporary server; reuse it
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()
        server.start()
        url = server.api_url
    old = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        if old is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = old


def _unmapped(value: Any) -> Any:
    from prefect.utilities.annotations import unmapped

    return unmapped(value)
