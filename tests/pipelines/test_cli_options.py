"""Issue 18 item 2: every command takes --config, ingest applies the roster, one meaning of --athlete,
exit codes from pipelines.errors only, and help texts keep ``[section]`` words."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.store import Store

REPO = Path(__file__).resolve().parents[2]
NO_CONFIG = {"demo"}  # writes its own sample store and configuration


def _commands(group=app, prefix=""):
    for c in group.registered_commands:
        yield prefix + (c.name or c.callback.__name__.replace("_", "-")), c.callback
    for t in group.registered_groups:
        yield from _commands(t.typer_instance, prefix + t.name + " ")


def test_every_command_that_reads_a_store_takes_config():
    missing = [
        name
        for name, cb in _commands()
        if "store" in inspect.signature(cb).parameters
        and "config" not in inspect.signature(cb).parameters
        and name not in NO_CONFIG
    ]
    assert missing == []


def test_help_keeps_bracketed_config_sections():
    """Rich markup would read ``[inputs]`` as a style tag and drop it from the help text."""
    r = CliRunner().invoke(app, ["ingest", "--help"], terminal_width=200)
    assert r.exit_code == 0
    assert "[inputs] max_file_mb" in r.output and "[inputs] on_bad_row" in r.output


def test_no_literal_exit_codes_in_the_command_modules():
    """Exit codes come from pipelines.errors (EXIT_OK, EXIT_FAILED, ...), named once."""
    offenders = []
    for p in sorted((REPO / "pipelines").glob("cli*.py")):
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"(typer\.Exit|sys\.exit)\(\s*\d", line) or re.search(r"^EXIT_\w+ = \d", line):
                offenders.append(f"{p.name}:{i}: {line.strip()}")
    assert offenders == []


def _write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    inputs = tmp_path / "in"
    (inputs / "ath000").mkdir(parents=True)
    # local wall-clock time without an offset: the time zone decides the UTC instant
    (inputs / "ath000" / "s-sessions.csv").write_text(
        "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
        "ath000,2026-10-05T23:30:00,60,running,140,5,10\n"
    )
    cfg = tmp_path / "sw.toml"
    cfg.write_text('[team]\ntimezone = "Europe/Berlin"\n[[athletes]]\nid = "ath000"\ntimezone = "America/New_York"\n')
    return inputs, cfg


def test_ingest_with_config_applies_the_roster_time_zone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    inputs, cfg = _write_inputs(tmp_path)
    r = CliRunner().invoke(app, ["ingest", str(inputs), "--store", "st", "--workers", "1", "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    start = Store(tmp_path / "st").read_table("sessions")["start_utc"].to_list()[0]
    # 23:30 in New York (EDT, UTC-4) is 03:30 UTC the next day, as `strainwatch run` would store it
    assert (start.day, start.hour, start.minute) == (6, 3, 30)


def test_ingest_as_athlete_and_the_deprecated_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    f = tmp_path / "in" / "s-sessions.csv"
    f.parent.mkdir()
    f.write_text(
        "start_time,duration_min,sport,avg_hr,rpe,distance_km\n2026-10-05T17:30:00+02:00,60,running,140,5,10\n"
    )
    r = CliRunner().invoke(app, ["ingest", str(f.parent), "--store", "a", "--workers", "1", "--as-athlete", "ana"])
    assert r.exit_code == 0, r.output
    assert Store(tmp_path / "a").athletes("sessions") == ["ana"]
    r = CliRunner().invoke(app, ["ingest", str(f.parent), "--store", "b", "--workers", "1", "--athlete", "ana"])
    assert r.exit_code == 0, r.output
    assert "deprecated" in r.stderr and "--as-athlete" in r.stderr
    assert Store(tmp_path / "b").athletes("sessions") == ["ana"]
    assert "--as-athlete" in CliRunner().invoke(app, ["ingest", "--help"], terminal_width=200).output


@pytest.mark.parametrize("command", [["ledger"], ["export", "sessions", "--out", "x.csv"], ["verify"]])
def test_store_commands_take_the_store_from_config(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    monkeypatch.delenv("STRAINWATCH_STORE", raising=False)
    inputs, _ = _write_inputs(tmp_path)
    assert CliRunner().invoke(app, ["ingest", str(inputs), "--store", "configured", "--workers", "1"]).exit_code == 0
    cfg = tmp_path / "other.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "configured"}"\n')
    r = CliRunner().invoke(app, [*command, "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "strainwatch-data").exists()  # not the default store


def test_store_environment_variable_is_the_config_key(tmp_path, monkeypatch):
    from pipelines.cli import resolve_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    monkeypatch.setenv("STRAINWATCH_STORE__PATH", str(tmp_path / "one"))
    monkeypatch.setenv("STRAINWATCH_STORE", str(tmp_path / "deprecated"))
    assert resolve_store(None) == tmp_path / "one"  # the config key wins over the deprecated alias


def test_a_locked_store_is_one_line_and_exit_code_3_from_main(tmp_path, monkeypatch, capsys):
    """The commands no longer catch StoreLockedError themselves: main() maps it, once, like every
    StrainwatchError (the message and EXIT_LOCKED come from the error)."""
    import sys

    from pipelines import cli, stage_features
    from pipelines.errors import EXIT_LOCKED
    from pipelines.store import StoreLockedError

    root = tmp_path / "st"
    Store(root).set_state("x", "1")  # an existing store

    def locked(*_a, **_k):
        raise StoreLockedError(f"store {root} is in use by another strainwatch process (pid 1)")

    monkeypatch.setattr(stage_features, "run_features", locked)
    monkeypatch.setattr(cli, "_stop_on_interrupt", lambda: None)
    monkeypatch.setattr(sys, "argv", ["strainwatch", "features", "--store", str(root), "--as-of", "2026-10-01"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err
    assert exc.value.code == EXIT_LOCKED == 3
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        f"error: store {root} is in use by another strainwatch process (pid 1)"
    ]


def test_a_locked_store_stops_run_with_one_line_and_exit_code_3(tmp_path, monkeypatch, capsys):
    """`strainwatch run` has no lock handler of its own either: the run lock's StoreLockedError
    reaches main() before any stage runs (and before a Prefect server starts: the lock comes first)."""
    import contextlib
    import sys

    from pipelines import cli, flows, prefect_server, run_runtime
    from pipelines.errors import EXIT_LOCKED
    from pipelines.store import StoreLockedError

    root = tmp_path / "st"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "log.csv").write_text("date,athlete_id,duration_min,rpe\n2026-10-01,a,60,5\n")

    @contextlib.contextmanager
    def held(*_a, **_k):
        raise StoreLockedError(f"store {root} is in use by another strainwatch process (pid 1)")
        yield  # pragma: no cover

    ran = []
    monkeypatch.setattr(run_runtime, "run_lock", held)
    monkeypatch.setattr(flows, "run_flow", lambda *a, **k: ran.append(a))

    @contextlib.contextmanager
    def server():
        ran.append("server")
        yield None

    monkeypatch.setattr(prefect_server, "early_server", server)
    monkeypatch.setattr(cli, "_stop_on_interrupt", lambda: None)
    monkeypatch.setattr(
        sys, "argv", ["strainwatch", "run", "--store", str(root), "--input", str(tmp_path / "in"), "--dry-run"]
    )
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err
    assert exc.value.code == EXIT_LOCKED and ran == []
    assert f"error: store {root} is in use by another strainwatch process (pid 1)" in err.splitlines()
