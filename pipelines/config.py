"""One configuration file for a team: ``strainwatch.toml``.

Where it comes from, first match wins:

1. ``--config FILE`` on the command line;
2. the environment variable ``STRAINWATCH_CONFIG``;
3. ``./strainwatch.toml`` in the current directory, when it exists;
4. nothing: every key has a default, so ``strainwatch run --input exports/``
   works without any file.

Environment variables override single keys of the file:
``STRAINWATCH_<SECTION>__<KEY>`` (two underscores between levels, any case),
for example ``STRAINWATCH_RUN__CHUNK_SIZE=100`` or
``STRAINWATCH_SCORER__PARAMS__ACWR_HIGH=1.6``. The value is read as a TOML
value when it parses as one (``100``, ``true``, ``["a", "b"]``, ``"text"``)
and as a plain string otherwise; list keys also accept ``a,b,c``. Command-line
flags (``--store``, ``--input``) override both. The roster (``[[athletes]]``)
is not addressable from the environment.

Relative paths in the file are relative to the file's folder; relative paths
from the environment or the command line are relative to the working directory.

Secrets (apprise URLs with passwords or tokens) should not be written in the
file: write ``${NAME}`` inside a URL and strainwatch substitutes the
environment variable ``NAME`` at send time; an unset variable is an error that
names the key and the variable, and the resolved URL is never printed.

Every value is validated (pydantic v2 models, ``extra="forbid"``); an error
names the file or environment variable, the key and what was expected.

Example
-------
.. code-block:: toml

    [team]
    name = "Harbour Rowing"
    timezone = "Europe/London"

    [store]
    path = "data"               # the store directory
    lock_timeout_s = 600        # a second run waits this long, then refuses

    [inputs]
    folders = ["exports"]       # athletes drop their exports here
    on_bad_row = "skip"

    [[athletes]]
    id = "alice"
    name = "Alice Moreau"
    timezone = "Europe/Paris"
    sex = "female"
    hr_max_bpm = 192
    hr_rest_bpm = 48
    devices = ["3391284771"]    # device serial -> this athlete
    load_family = "srpe"        # optional: pin the load unit family (team default: [features.params])
    alert_urls = ["ntfy://${NTFY_TOKEN}@ntfy.example.org/alice"]

    [features.params]           # passed as a dict to the feature stage
    sleep_need_h = 7.5
    load_family = "auto"        # team default load unit family ("auto": largest share of training time)

    [scorer]
    model_path = "models/backstrain.json"   # optional learned model (JSON, never a pickle)
    [scorer.params]             # passed as a dict to the scorer
    acwr_danger = 1.6

    [report]
    out_dir = "reports"
    evaluation_label = "back_pain_0_10>=3"  # optional; the outcome the report checks the score against

    [alerts]
    coach_urls = ["mailtos://coach:${SMTP_PASSWORD}@mail.example.org"]

    [run]
    task_runner = "thread"      # or "dask"
    dask_address = "tcp://scheduler:8786"   # optional; a local cluster otherwise
    chunk_size = 50             # athletes per task
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "Config",
    "ConfigError",
    "Athlete",
    "load_config",
    "find_config_file",
    "store_from_config",
    "resolve_secrets",
    "ENV_PREFIX",
    "CONFIG_ENV",
    "DEFAULT_CONFIG_NAME",
]

ENV_PREFIX = "STRAINWATCH_"
CONFIG_ENV = "STRAINWATCH_CONFIG"
DEFAULT_CONFIG_NAME = "strainwatch.toml"

_SECRET_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the source and key."""


def _check_tz(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r} (expected e.g. 'Europe/Berlin' or 'UTC')") from None
    return value


def _split_list(value: Any) -> Any:
    """Accept ``"a,b"`` from the environment for list keys."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False)


class TeamSection(_Section):
    """``[team]``."""

    name: str = "team"
    timezone: str = "UTC"

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _check_tz(v)))


class StoreSection(_Section):
    """``[store]``: the data directory and its writer lock."""

    path: Path = Path("strainwatch-data")
    lock_timeout_s: float = Field(60.0, ge=0, le=86400)

    @field_validator("path", mode="before")
    @classmethod
    def _no_url(cls, v: Any) -> Any:
        if isinstance(v, str) and "://" in v:
            raise ValueError(
                f"{v!r} looks like an object-store URL; the embedded store needs a local or "
                "shared-filesystem directory (fsspec URLs are not supported yet)"
            )
        return v


class InputsSection(_Section):
    """``[inputs]``: where exports are dropped and how bad input is handled."""

    folders: list[Path] = Field(default_factory=list)
    on_bad_row: Literal["raise", "skip"] = "raise"
    retry_rejected: bool = False
    workers: int | None = Field(None, ge=1, le=256)
    #: Largest input file read [MB] (a zip counts by its members): larger files are ledgered
    #: as rejected. Real exports are far smaller except Apple Health's export.xml (200 MB for
    #: years of data), hence 1 GB; lower it on small machines.
    max_file_mb: float = Field(1024.0, gt=0, le=1_000_000)

    _split = field_validator("folders", mode="before")(classmethod(lambda cls, v: _split_list(v)))


class Athlete(_Section):
    """One ``[[athletes]]`` entry of the roster."""

    id: str = Field(min_length=1, max_length=200)
    name: str | None = None
    timezone: str | None = None
    sex: Literal["female", "male", "other"] | None = None
    hr_max_bpm: float | None = Field(None, ge=100, le=240)
    hr_rest_bpm: float | None = Field(None, ge=25, le=120)
    devices: list[str] = Field(default_factory=list)
    #: Other ids this athlete's files may carry in an ``athlete_id`` column (e.g. an app's user
    #: name): rows with them in this athlete's folder are stored as this athlete.
    aliases: list[str] = Field(default_factory=list)
    alert_urls: list[str] = Field(default_factory=list)
    # pins this athlete's load unit family (features.load); the team default is
    # [features.params] load_family
    load_family: Literal["auto", "srpe", "tss", "trimp", "epoc", "kcal"] | None = None
    group: str | None = Field(None, max_length=100)  # squad or training group (report filter)

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _check_tz(v)))

    @field_validator("id")
    @classmethod
    def _id_chars(cls, v: str) -> str:
        from connectors.athlete_id import id_problem, normalize_athlete_id

        if v != v.strip() or any(c in v for c in "/\\\n\r\t,"):
            raise ValueError(f"athlete id {v!r} must not contain spaces at the ends, '/', '\\', ',' or newlines")
        problem = id_problem(v)
        if problem:
            raise ValueError(problem)
        return normalize_athlete_id(v)  # NFC, as the ingest stores it

    @field_validator("devices", mode="before")
    @classmethod
    def _devices_str(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [str(x) if isinstance(x, int) else x for x in v]
        return v

    @model_validator(mode="after")
    def _hr_order(self) -> Athlete:
        if self.hr_max_bpm is not None and self.hr_rest_bpm is not None and self.hr_rest_bpm >= self.hr_max_bpm:
            raise ValueError(f"hr_rest_bpm ({self.hr_rest_bpm:g}) must be below hr_max_bpm ({self.hr_max_bpm:g})")
        return self


_Scalar = bool | int | float | str | list[bool | int | float | str]


class FeaturesSection(_Section):
    """``[features]``: ``params`` are passed as a dict to the feature stage, which validates them."""

    params: dict[str, _Scalar] = Field(default_factory=dict)


class ScorerSection(_Section):
    """``[scorer]``: ``params`` go as a dict to the scorer; ``model_path`` selects a learned model."""

    params: dict[str, _Scalar] = Field(default_factory=dict)
    model_path: Path | None = None


class ReportSection(_Section):
    """``[report]``: the weekly coach report written by the nightly run."""

    enabled: bool = True
    out_dir: Path | None = None  # default: <store>/reports
    stale_after_d: int = Field(7, ge=1, le=365)  # an input without data for longer is flagged [d]
    # "How the indicator tracked this team's reports" (pipelines.stage_evaluate.report_evaluation):
    evaluation: bool = True  # false: no such section
    evaluation_label: str | None = None  # ITEM<=N / ITEM>=N; None: the first of AUTO_LABELS reported
    evaluation_injuries: bool = False  # new injury episodes instead of a self-report item
    evaluation_horizon_d: int = Field(3, ge=1, le=28)  # an outcome on any of the next N days counts

    @field_validator("evaluation_label")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        from models.evaluate import LabelSpec

        LabelSpec.parse(v)  # raises ValueError with what was expected
        return v.strip()


class AlertsSection(_Section):
    """``[alerts]``: deload alerts through apprise URLs (per athlete in the roster, coach here)."""

    enabled: bool = True
    dry_run: bool = False
    coach_urls: list[str] = Field(default_factory=list)

    _split = field_validator("coach_urls", mode="before")(classmethod(lambda cls, v: _split_list(v)))


class CheckinSection(_Section):
    """``[checkin]``: the athletes' daily check-in (``strainwatch checkin``, pipelines/checkin.py).

    ``base_url`` is what ``checkin links`` prints in front of each personal
    link (the address athletes' phones reach the server at); ``csv_columns``
    maps check-in fields to the column titles of a form service's CSV export
    (``strainwatch checkin import``); ``csv_time_format`` is a ``strptime``
    format for its time column when that is not ISO 8601.
    """

    base_url: str = "http://127.0.0.1:8765"
    csv_columns: dict[str, str] = Field(default_factory=dict)
    csv_time_format: str | None = None
    csv_true: list[str] = Field(default_factory=lambda: ["yes", "y", "true", "1", "x", "ja", "oui", "si", "sí"])


class RunSection(_Section):
    """``[run]``: how the nightly flow executes."""

    task_runner: Literal["thread", "dask"] = "thread"
    dask_address: str | None = None
    dask_workers: int = Field(2, ge=1, le=1024)
    chunk_size: int = Field(50, ge=1, le=100_000)
    max_workers: int | None = Field(None, ge=1, le=256)

    @field_validator("dask_address")
    @classmethod
    def _addr(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not re.match(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$", v):
            raise ValueError(f"{v!r} is not a dask scheduler address (expected e.g. 'tcp://scheduler:8786')")
        return v


class Config(_Section):
    """The validated configuration. Build it with :func:`load_config`."""

    team: TeamSection = Field(default_factory=TeamSection)
    store: StoreSection = Field(default_factory=StoreSection)
    inputs: InputsSection = Field(default_factory=InputsSection)
    athletes: list[Athlete] = Field(default_factory=list)
    features: FeaturesSection = Field(default_factory=FeaturesSection)
    scorer: ScorerSection = Field(default_factory=ScorerSection)
    report: ReportSection = Field(default_factory=ReportSection)
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    run: RunSection = Field(default_factory=RunSection)
    checkin: CheckinSection = Field(default_factory=CheckinSection)

    #: the file this came from (None: defaults and environment only)
    source: Path | None = None

    @model_validator(mode="after")
    def _roster(self) -> Config:
        from connectors.athlete_id import collision_key

        seen: dict[str, int] = {}
        keys: dict[str, int] = {}
        owner: dict[str, str] = {}
        for i, a in enumerate(self.athletes):
            if a.id in seen:
                raise ValueError(f"athletes[{i}].id: athlete id {a.id!r} is listed twice (also athletes[{seen[a.id]}])")
            j = keys.get(collision_key(a.id))
            if j is not None:
                raise ValueError(
                    f"athletes[{i}].id: athlete id {a.id!r} differs from {self.athletes[j].id!r} "
                    f"(athletes[{j}]) only by case or look-alike characters; on a case-insensitive "
                    "file system both would share one partition file"
                )
            seen[a.id] = i
            keys[collision_key(a.id)] = i
            for d in a.devices:
                if d in owner and owner[d] != a.id:
                    raise ValueError(
                        f"athletes[{i}].devices: device serial {d!r} belongs to both {owner[d]!r} and {a.id!r}"
                    )
                owner[d] = a.id
        return self

    # ---------------------------------------------------------------- helpers
    def athlete(self, athlete_id: str) -> Athlete | None:
        for a in self.athletes:
            if a.id == athlete_id:
                return a
        return None

    def tz_for(self, athlete_id: str | None) -> str:
        """IANA zone of an athlete: the roster's, else the team's."""
        a = self.athlete(athlete_id) if athlete_id else None
        return (a.timezone if a and a.timezone else None) or self.team.timezone

    def device_map(self) -> dict[str, str]:
        """Device serial number -> athlete id, from the roster."""
        return {d: a.id for a in self.athletes for d in a.devices}

    def alias_map(self) -> dict[str, str]:
        """Alias (an ``athlete_id`` found in files) -> roster athlete id."""
        return {x: a.id for a in self.athletes for x in a.aliases}

    def names(self) -> dict[str, str]:
        """Athlete id -> display name (roster entries with a name)."""
        return {a.id: a.name for a in self.athletes if a.name}

    def groups(self) -> dict[str, str]:
        """Athlete id -> group or squad (roster entries with a group)."""
        return {a.id: a.group for a in self.athletes if a.group}

    def team_title(self) -> str | None:
        """The team name for titles, or None when the team has no configured name."""
        return self.team.name if self.team.name and self.team.name != "team" else None

    def scorer_params(self) -> dict[str, Any]:
        """``[scorer.params]``, with the sleep need defaulting to ``[features.params] sleep_need_h``,
        so the scorer's sleep rules use the need the feature stage's sleep debt was computed with."""
        values = dict(self.scorer.params)
        need = dict(self.features.params).get("sleep_need_h")
        if "sleep_need_h" not in values and need is not None:
            values["sleep_need_h"] = need
        return values

    def athlete_overrides(self) -> dict[str, dict[str, Any]]:
        """Per-athlete physiology overrides (sex, HRmax, HRrest) for the stages that use them."""
        out: dict[str, dict[str, Any]] = {}
        for a in self.athletes:
            d = {
                k: v
                for k, v in (
                    ("sex", a.sex),
                    ("hr_max_bpm", a.hr_max_bpm),
                    ("hr_rest_bpm", a.hr_rest_bpm),
                    ("load_family", a.load_family),
                )
                if v is not None
            }
            if d:
                out[a.id] = d
        return out

    def report_dir(self) -> Path:
        return self.report.out_dir if self.report.out_dir is not None else self.store.path / "reports"

    def today(self, now: datetime | None = None):
        """Today's date in the team's time zone (the shell's clock; pure code never calls this)."""
        now = now or datetime.now(tz=ZoneInfo("UTC"))
        return now.astimezone(ZoneInfo(self.team.timezone)).date()

    def alert_urls(self) -> dict[str, list[str]]:
        """Apprise URLs as written (``${VAR}`` unresolved): athlete id -> URLs, plus ``"coach"``.

        The alert stage resolves the secrets itself at send time and masks them
        in everything it prints.
        """
        out = {a.id: list(a.alert_urls) for a in self.athletes if a.alert_urls}
        if self.alerts.coach_urls:
            out["coach"] = list(self.alerts.coach_urls)
        return out

    def without_secrets(self) -> Config:
        """This config without any alert URL (a URL may hold a literal password or token).

        What a Prefect flow or task may receive as a parameter: Prefect stores
        flow-run parameters in its database (``<store>/.prefect/prefect.db``)
        and shows them in its UI. The alert task reads the URLs itself from the
        config file and the environment (:func:`pipelines.flows.alert_task`).
        """
        return self.model_copy(
            update={
                "athletes": [a.model_copy(update={"alert_urls": []}) for a in self.athletes],
                "alerts": self.alerts.model_copy(update={"coach_urls": []}),
            }
        )

    def alert_channels(self, environ: Mapping[str, str] | None = None) -> dict[str, list[str]]:
        """Apprise URLs with ``${VAR}`` secrets resolved: athlete id -> URLs, plus key ``"coach"``.

        Raises
        ------
        ConfigError
            When a referenced environment variable is not set.
        """
        env = os.environ if environ is None else environ
        out: dict[str, list[str]] = {}
        for i, a in enumerate(self.athletes):
            if a.alert_urls:
                out[a.id] = [resolve_secrets(u, env, f"athletes[{i}].alert_urls") for u in a.alert_urls]
        if self.alerts.coach_urls:
            out["coach"] = [resolve_secrets(u, env, "alerts.coach_urls") for u in self.alerts.coach_urls]
        return out


def resolve_secrets(url: str, environ: Mapping[str, str], key: str) -> str:
    """Substitute ``${NAME}`` in ``url`` from ``environ``; never echo the result."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in environ:
            raise ConfigError(f"{key}: the URL needs the environment variable {name}, which is not set")
        return environ[name]

    return _SECRET_RE.sub(sub, url)


# -------------------------------------------------------------------- loading
_SECTIONS = {name for name, f in Config.model_fields.items() if name not in ("athletes", "source")}
_PATH_KEYS = {("store", "path"), ("inputs", "folders"), ("scorer", "model_path"), ("report", "out_dir")}


def find_config_file(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file to use: ``path``, else ``$STRAINWATCH_CONFIG``, else ``./strainwatch.toml`` if present."""
    env = os.environ if environ is None else environ
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        return p
    if env.get(CONFIG_ENV):
        p = Path(env[CONFIG_ENV])
        if not p.is_file():
            raise ConfigError(f"config file not found: {p} (from {CONFIG_ENV})")
        return p
    p = Path(DEFAULT_CONFIG_NAME)
    return p if p.is_file() else None


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """Nested dict of overrides from ``STRAINWATCH_<SECTION>__<KEY>`` and where each came from."""
    tree: dict[str, Any] = {}
    origin: dict[tuple[str, ...], str] = {}
    for name, raw in sorted(environ.items()):
        if not name.upper().startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if any(not p for p in parts) or len(parts) < 2:
            raise ConfigError(f"{name}: expected STRAINWATCH_<SECTION>__<KEY>")
        if parts[0] not in _SECTIONS:
            raise ConfigError(f"{name}: unknown section {parts[0]!r} (expected one of {', '.join(sorted(_SECTIONS))})")
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {'.'.join(parts[:-1])} is not a table")
        node[parts[-1]] = _env_value(raw)
        origin[tuple(parts)] = name
    return tree, origin


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


def _rebase_paths(data: dict[str, Any], base: Path) -> None:
    """Make relative path keys of the file relative to the file's folder."""
    for section, key in _PATH_KEYS:
        sec = data.get(section)
        if not isinstance(sec, dict) or key not in sec:
            continue
        v = sec[key]
        if isinstance(v, str) and v and "://" not in v and not Path(v).is_absolute():
            sec[key] = str(base / v)
        elif isinstance(v, list):
            sec[key] = [str(base / x) if isinstance(x, str) and not Path(x).is_absolute() else x for x in v]


def _format_errors(err: ValidationError, source: str, origin: dict[tuple[str, ...], str], data: dict[str, Any]) -> str:
    lines = []
    for e in err.errors(include_url=False):
        loc = [str(p) for p in e["loc"]]
        # drop pydantic's union/type tags ("function-after[...]", "str") from the location
        loc = [
            p
            for p in loc
            if not (
                p.startswith(("function-", "list[", "dict[")) or p in ("str", "int", "float", "bool", "constrained-str")
            )
        ]
        key = ".".join(loc) if loc else "(top level)"
        key = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key)
        where = next((origin[k] for k in origin if tuple(loc[: len(k)]) == k), None)
        src = where or source
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        got = ""
        if e["type"] not in ("missing", "value_error", "extra_forbidden") and "input" in e:
            got = f" (got {e['input']!r})"
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
            sec = loc[0] if loc else ""
            model = Config.model_fields.get(sec)
            if len(loc) == 1:
                msg += f" (expected one of: {', '.join(sorted(_SECTIONS | {'athletes'}))})"
            elif model is not None and hasattr(model.annotation, "model_fields"):
                msg += f" (allowed in [{sec}]: {', '.join(model.annotation.model_fields)})"
            elif sec == "athletes":
                msg += f" (allowed in [[athletes]]: {', '.join(Athlete.model_fields)})"
        lines.append(f"{src}: {key}: {msg}{got}")
    return "invalid configuration:\n  " + "\n  ".join(dict.fromkeys(lines))


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read, merge and validate the configuration.

    Parameters
    ----------
    path : path, optional
        The TOML file (``--config``). Default: ``$STRAINWATCH_CONFIG``, else
        ``./strainwatch.toml`` when present, else defaults only.
    environ : mapping, optional
        Environment to read overrides and ``STRAINWATCH_CONFIG`` from
        (default ``os.environ``).
    overrides : mapping, optional
        Nested overrides from command-line flags, e.g.
        ``{"store": {"path": "data"}, "inputs": {"folders": ["exports"]}}``;
        they win over the file and the environment.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        On a missing or malformed file, an unknown key or an invalid value; the
        message names the file or environment variable and the key.
    """
    env = os.environ if environ is None else environ
    file = find_config_file(path, env)
    data: dict[str, Any] = {}
    source = "defaults"
    if file is not None:
        source = str(file)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8-sig"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{file}: not valid TOML: {err}") from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{file}: cannot read: {err}") from None
        if "source" in data:
            raise ConfigError(f"{file}: source: unknown key")
        _rebase_paths(data, file.resolve().parent)
    env_tree, origin = _env_overrides(env)
    data = _merge(data, env_tree)
    if overrides:
        flags = {s: {k: v for k, v in sec.items() if v is not None} for s, sec in overrides.items()}
        for s, sec in flags.items():
            for k in sec:
                origin[(s, k)] = f"--{k.replace('_', '-')} flag"
        data = _merge(data, flags)
    try:
        cfg = Config.model_validate({**data, "source": file})
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source, origin, data)) from None
    return cfg


def store_from_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The store directory named by the config file or environment, if any (for ``resolve_store``)."""
    env = os.environ if environ is None else environ
    file = find_config_file(path, env)
    has_env = any(k.upper().startswith(ENV_PREFIX + "STORE__") for k in env)
    if file is None and not has_env:
        return None
    return load_config(path, environ=env).store.path
