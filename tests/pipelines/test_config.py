"""strainwatch.toml: loading, precedence (file < environment < flags), validation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_config, store_from_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "strainwatch.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_without_any_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(environ={})
    assert cfg.source is None
    assert cfg.store.path == Path("strainwatch-data")
    assert cfg.inputs.folders == []
    assert cfg.run.task_runner == "thread" and cfg.run.chunk_size == 50
    assert cfg.team.timezone == "UTC"


def test_sample_team_config_loads_and_paths_are_relative_to_the_file():
    cfg = load_config(REPO / "sample_data" / "strainwatch.toml", environ={})
    assert cfg.inputs.folders == [REPO / "sample_data" / "inputs"]
    assert len(cfg.athletes) == 10
    assert cfg.tz_for("fay") == "America/New_York"
    assert cfg.tz_for("nobody") == "Europe/Berlin"  # the team's zone
    assert cfg.names()["ana"] == "Ana Weber"
    assert cfg.athlete_overrides()["ben"] == {"sex": "male", "hr_max_bpm": 186.0, "hr_rest_bpm": 52.0}
    assert cfg.alerts.dry_run is True


def test_found_through_env_and_cwd(tmp_path, monkeypatch):
    p = write(tmp_path, '[store]\npath = "d1"\n', "team.toml")
    assert load_config(environ={"STRAINWATCH_CONFIG": str(p)}).store.path == tmp_path / "d1"
    monkeypatch.chdir(tmp_path)
    write(tmp_path, '[store]\npath = "d2"\n')
    assert load_config(environ={}).store.path == tmp_path / "d2"
    with pytest.raises(ConfigError, match=r"config file not found: .*nope.toml \(from STRAINWATCH_CONFIG\)"):
        load_config(environ={"STRAINWATCH_CONFIG": str(tmp_path / "nope.toml")})
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.toml", environ={})


def test_precedence_file_then_env_then_flags(tmp_path):
    p = write(tmp_path, '[store]\npath = "from-file"\n[run]\nchunk_size = 10\n[scorer.params]\nacwr_high = 1.5\n')
    env = {
        "STRAINWATCH_RUN__CHUNK_SIZE": "25",
        "STRAINWATCH_STORE__PATH": "/srv/from-env",
        "strainwatch_run__task_runner": "dask",  # any case
        "STRAINWATCH_SCORER__PARAMS__ACWR_HIGH": "1.6",
        "STRAINWATCH_INPUTS__FOLDERS": "a, b",
        "STRAINWATCH_ALERTS__COACH_URLS": '["json://127.0.0.1:9/x"]',
        "STRAINWATCH_STORE": "ignored: not a section override",
    }
    cfg = load_config(p, environ=env)
    assert cfg.run.chunk_size == 25
    assert cfg.run.task_runner == "dask"
    assert cfg.store.path == Path("/srv/from-env")
    assert cfg.scorer.params == {"acwr_high": 1.6}
    assert cfg.inputs.folders == [Path("a"), Path("b")]
    assert cfg.alerts.coach_urls == ["json://127.0.0.1:9/x"]
    cfg = load_config(p, environ=env, overrides={"store": {"path": "flag"}, "inputs": {"folders": None}})
    assert cfg.store.path == Path("flag")
    assert cfg.inputs.folders == [Path("a"), Path("b")]  # a None flag does not override


@pytest.mark.parametrize(
    "toml, expected",
    [
        ('[team]\ntimezone = "Europe/Berlinn"\n', r"team\.timezone: unknown IANA time zone 'Europe/Berlinn'"),
        ("[run]\nchunk_size = 0\n", r"run\.chunk_size: Input should be greater than or equal to 1 \(got 0\)"),
        ('[run]\ntask_runner = "ray"\n', r"run\.task_runner: Input should be 'thread' or 'dask' \(got 'ray'\)"),
        (
            '[run]\ndask_address = "localhost:8786"\n',
            r"run\.dask_address: 'localhost:8786' is not a dask scheduler address",
        ),
        ("[run]\nchunksize = 5\n", r"run\.chunksize: unknown key \(allowed in \[run\]: task_runner, dask_address"),
        ("[stroe]\npath = 'x'\n", r"stroe: unknown key \(expected one of: alerts, athletes, checkin, features"),
        ('[store]\npath = "s3://bucket/team"\n', r"store\.path: 's3://bucket/team' looks like an object-store URL"),
        ('[inputs]\non_bad_row = "ignore"\n', r"inputs\.on_bad_row: Input should be 'raise' or 'skip'"),
        (
            '[[athletes]]\nid = "a"\nhr_max_bpm = 300\n',
            r"athletes\[0\]\.hr_max_bpm: Input should be less than or equal to 240",
        ),
        (
            '[[athletes]]\nid = "a"\nhr_max_bpm = 150\nhr_rest_bpm = 60\n[[athletes]]\nid = "b"\nhr_max_bpm = '
            "110\nhr_rest_bpm = 115\n",
            r"athletes\[1\]: hr_rest_bpm \(115\) must be below hr_max_bpm \(110\)",
        ),
        ('[[athletes]]\nid = "a"\n[[athletes]]\nid = "a"\n', r"athlete id 'a' is listed twice"),
        (
            '[[athletes]]\nid = "a"\ndevices = [123]\n[[athletes]]\nid = "b"\ndevices = ["123"]\n',
            r"device serial '123' belongs to both 'a' and 'b'",
        ),
        ('[[athletes]]\nid = "a/b"\n', r"athletes\[0\]\.id: athlete id 'a/b' must not contain"),
        ('[[athletes]]\nname = "No Id"\n', r"athletes\[0\]\.id: Field required"),
        ('[[athletes]]\nid = "a"\nsex = "f"\n', r"athletes\[0\]\.sex: Input should be 'female', 'male' or 'other'"),
        ("[store]\nlock_timeout_s = -1\n", r"store\.lock_timeout_s: Input should be greater than or equal to 0"),
    ],
)
def test_invalid_values_name_file_and_key(tmp_path, toml, expected):
    p = write(tmp_path, toml)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(p, environ={})
    assert str(p) in str(info.value)


def test_invalid_toml_names_the_file(tmp_path):
    p = write(tmp_path, "[run\nchunk_size = 3\n")
    with pytest.raises(ConfigError, match=r"strainwatch\.toml: not valid TOML"):
        load_config(p, environ={})


def test_env_errors_name_the_variable(tmp_path):
    p = write(tmp_path, "")
    with pytest.raises(
        ConfigError, match=r"STRAINWATCH_RUN__CHUNK_SIZE: run\.chunk_size: .*valid integer.*\(got 'many'\)"
    ):
        load_config(p, environ={"STRAINWATCH_RUN__CHUNK_SIZE": "many"})
    with pytest.raises(ConfigError, match=r"STRAINWATCH_RUNN__CHUNK_SIZE: unknown section 'runn'"):
        load_config(p, environ={"STRAINWATCH_RUNN__CHUNK_SIZE": "3"})
    with pytest.raises(ConfigError, match=r"STRAINWATCH_RUN__CHUNKS: run\.chunks: unknown key"):
        load_config(p, environ={"STRAINWATCH_RUN__CHUNKS": "3"})


def test_secrets_come_from_the_environment_and_are_checked(tmp_path):
    p = write(
        tmp_path,
        '[[athletes]]\nid = "ana"\nalert_urls = ["ntfy://${NTFY_TOKEN}@ntfy.example/ana"]\n'
        '[alerts]\ncoach_urls = ["mailtos://coach:${SMTP_PASS}@mail.example"]\n',
    )
    cfg = load_config(p, environ={})
    assert "${NTFY_TOKEN}" in cfg.athletes[0].alert_urls[0]  # kept unresolved in the config object
    ch = cfg.alert_channels({"NTFY_TOKEN": "tk", "SMTP_PASS": "pw"})
    assert ch == {"ana": ["ntfy://tk@ntfy.example/ana"], "coach": ["mailtos://coach:pw@mail.example"]}
    with pytest.raises(ConfigError, match=r"alerts\.coach_urls: the URL needs the environment variable SMTP_PASS"):
        cfg.alert_channels({"NTFY_TOKEN": "tk"})


def test_device_map_and_today_in_team_zone(tmp_path):
    from datetime import datetime, timezone

    p = write(
        tmp_path, '[team]\ntimezone = "Pacific/Auckland"\n[[athletes]]\nid = "ana"\ndevices = [3391284771, "abc"]\n'
    )
    cfg = load_config(p, environ={})
    assert cfg.device_map() == {"3391284771": "ana", "abc": "ana"}
    # 2026-11-23 12:00 UTC is 2026-11-24 01:00 in Auckland (UTC+13 in summer)
    assert cfg.today(datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)).isoformat() == "2026-11-24"


def test_store_from_config_and_resolve_store(tmp_path, monkeypatch):
    from pipelines.cli import resolve_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRAINWATCH_STORE", raising=False)
    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    assert store_from_config(environ={}) is None
    assert resolve_store(None) == Path("strainwatch-data")
    write(tmp_path, '[store]\npath = "team-data"\n')
    assert resolve_store(None) == tmp_path / "team-data"
    assert resolve_store(Path("flag")) == Path("flag")
    monkeypatch.setenv("STRAINWATCH_STORE", "/env/store")
    assert resolve_store(None) == Path("/env/store")
