"""Stage schemas: the one place that names every column, its unit and dtype.

Every stage checks its input with :func:`require` and normalises its output with
:func:`conform`. Units are part of the column names (``duration_s``,
``rhr_bpm``, ``load_au``); see the glossary in each schema's ``doc``.

Tables (``docs/design.md``, "Canonical tables" and the output contracts):

* ``SESSIONS``, ``SLEEP``, ``WELLNESS``: what the connectors emit and the store keeps.
* ``DAILY``: one row per athlete and local calendar day (features stage 1).
* ``FEATURES``: the features output contract, then extra columns the scorer needs.
* ``SCORES``: the scores output contract, then the explanation columns.

Null versus zero: a rest day has ``load_au`` 0; a day without device data has
null physiology (``rhr_bpm``, ``hrv_ln_rmssd``, ``sleep_h``), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

__all__ = [
    "TableSchema",
    "SchemaError",
    "SESSIONS",
    "SLEEP",
    "WELLNESS",
    "INJURIES",
    "SELF_REPORT_ITEMS",
    "DAILY",
    "FEATURES",
    "SCORES",
    "TABLES",
    "require",
    "conform",
    "RISK_BANDS",
    "REASON_CODES",
    "ADJUSTMENT_CODES",
]

UTC_DT = pl.Datetime("us", "UTC")


class SchemaError(ValueError):
    """A frame does not match its stage schema.

    The message names the table, the column, the expected and the found dtype.
    """


@dataclass(frozen=True)
class TableSchema:
    """Columns of one stage table.

    Parameters
    ----------
    name : str
        Table name, used in error messages and as the store table name.
    required : dict of str to polars dtype
        Columns every frame of this table must have, in output order.
    optional : dict of str to polars dtype
        Columns that may be absent; :func:`conform` adds them as nulls.
    key : tuple of str
        Columns that identify a row (deduplication key).
    export : tuple of str or None
        Columns written by ``strainwatch export`` (None: required + optional
        columns that are not nested).
    """

    name: str
    required: dict[str, pl.DataType]
    optional: dict[str, pl.DataType] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    export: tuple[str, ...] | None = None

    @property
    def columns(self) -> dict[str, pl.DataType]:
        """All columns, required first, in output order."""
        return {**self.required, **self.optional}

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema(self.columns)

    def export_columns(self) -> list[str]:
        if self.export is not None:
            return list(self.export)
        return [c for c, t in self.columns.items() if not isinstance(t, (pl.List, pl.Struct, pl.Array))]

    def empty(self) -> pl.DataFrame:
        """An empty frame with every column of this schema."""
        return pl.DataFrame(schema=self.polars_schema)


SESSIONS = TableSchema(
    name="sessions",
    required={
        "athlete_id": pl.String(),
        "source": pl.String(),  # connector/format name, e.g. "generic_csv", "fit", "strava"
        "start_utc": UTC_DT,  # session start [UTC]
        "local_date": pl.Date(),  # local calendar date of the start
        "sport": pl.String(),  # lower-case sport, e.g. "running", "cycling", "strength"
        "duration_s": pl.Float64(),  # timer (moving) time [s]
        "distance_m": pl.Float64(),  # [m], null when unknown
        "avg_hr_bpm": pl.Float64(),  # [bpm]
        "max_hr_bpm": pl.Float64(),  # [bpm]
        "rpe": pl.Float64(),  # session RPE, CR10 scale 0-10
        "device_load": pl.Float64(),  # device/vendor load (TSS, EPOC, ...), see device_load_kind
        "load_au": pl.Float64(),  # session load [AU], null until the load stage fills it
        "load_method": pl.String(),  # how load_au was obtained, e.g. "srpe", "tss", "trimp_stream"
        "source_file": pl.String(),  # input path as given to ingest
    },
    optional={
        "sub_sport": pl.String(),
        "device_load_kind": pl.String(),  # "tss", "epoc", "whoop_strain", "relative_effort", ...
        "energy_kcal": pl.Float64(),  # [kcal]
        "elapsed_s": pl.Float64(),  # wall-clock duration [s]
        "local_offset_s": pl.Int32(),  # local time minus UTC at start [s]
        "training_effect_aerobic": pl.Float64(),
        "training_effect_anaerobic": pl.Float64(),
        # seconds spent at each integer heart rate 0..255 bpm (index = bpm);
        # null when the file has no heart-rate stream. Feeds Banister TRIMP.
        "hr_hist_s": pl.List(pl.Float32()),
        "load_confidence": pl.String(),  # "high", "medium", "low"
        "reported_utc": UTC_DT,  # when the athlete answered (source "checkin") [UTC]
        # what a connector had to repair in a recording that went wrong (null: nothing), e.g.
        # "session_from_records", "session_from_laps", "completed_from_laps", "elapsed_nulled";
        # the load stage lowers such a row's load confidence one step
        "recording_repair": pl.String(),
        # how well start_utc is known: null/"exact" (recorded), "approx" (back-computed, e.g. a log's
        # time of entry minus the duration), "date" (only the local date; start_utc is a placeholder)
        "start_precision": pl.String(),
        # the device recorded it on its own (Fitbit logType "auto_detected"), not started by the athlete
        "auto_detected": pl.Boolean(),
        # identity of the recording device: "<manufacturer>:<serial>" (FIT file_id), null when unknown
        "device_id": pl.String(),
    },
    # device_id: two devices of one source starting in the same second are two recordings (a
    # Zwift ride and the watch worn on it), not one row replacing the other
    key=("athlete_id", "source", "start_utc", "device_id"),
)

SLEEP = TableSchema(
    name="sleep",
    required={
        "athlete_id": pl.String(),
        "source": pl.String(),
        "start_utc": UTC_DT,
        "end_utc": UTC_DT,
        "wake_date": pl.Date(),  # local date on which the sleep ends
        "asleep_s": pl.Float64(),  # total sleep time [s]
        "deep_s": pl.Float64(),
        "light_s": pl.Float64(),
        "rem_s": pl.Float64(),
        "awake_s": pl.Float64(),
        "in_bed_s": pl.Float64(),
        "is_nap": pl.Boolean(),
        "source_file": pl.String(),
    },
    optional={
        "sleep_score": pl.Float64(),  # vendor sleep score 0-100
    },
    key=("athlete_id", "source", "start_utc"),
)

#: The self-reported monitoring items of ``WELLNESS``/``DAILY``: column -> (low, high, meaning of
#: low, meaning of high). Every 1-5 item is stored with 1 = the bad end and 5 = the good end (the
#: PMSys convention); a connector for an app with the other direction flips it (``6 - x``).
SELF_REPORT_ITEMS: dict[str, tuple[float, float, str, str]] = {
    "soreness_1_5": (1.0, 5.0, "very sore", "no soreness"),
    "fatigue_1_5": (1.0, 5.0, "very tired", "very fresh"),
    "sleep_quality_1_5": (1.0, 5.0, "very poor sleep", "very good sleep"),
    "mood_1_5": (1.0, 5.0, "very low mood", "very good mood"),
    "stress_1_5": (1.0, 5.0, "very stressed", "very relaxed"),
    "readiness_0_10": (0.0, 10.0, "not ready at all", "fully ready"),
}

#: the self-report columns as stored (WELLNESS, DAILY and FEATURES list them once, from here)
_SELF_REPORT_COLS: dict[str, pl.DataType] = {c: pl.Float64() for c in SELF_REPORT_ITEMS}


WELLNESS = TableSchema(
    name="wellness",
    required={
        "athlete_id": pl.String(),
        "source": pl.String(),
        "date": pl.Date(),  # local date
        "rhr_bpm": pl.Float64(),  # resting heart rate [bpm]
        "hrv_rmssd_ms": pl.Float64(),  # nocturnal/morning rMSSD [ms]
        "hrv_sdnn_ms": pl.Float64(),  # SDNN [ms] (Apple Health); never mixed with rMSSD
        "back_pain_0_10": pl.Float64(),  # self-reported low-back pain, 0-10
        "soreness": pl.Float64(),  # self-reported soreness, 0-10
        "red_flag": pl.Boolean(),  # a red-flag symptom reported (domain brief section 5)
        "source_file": pl.String(),
    },
    optional={
        "note": pl.String(),
        # daily check-in (connectors.checkin, source "checkin")
        "back_pain_area": pl.String(),  # "lower_back", "upper_back", "neck", "other"
        "pain_0_10": pl.Float64(),  # reported back/neck pain in any area, 0-10 (back_pain_0_10: lower back only)
        "red_flags": pl.String(),  # red-flag codes ticked, ";"-joined (connectors.checkin.RED_FLAG_QUESTIONS)
        "reported_utc": UTC_DT,  # when the athlete answered [UTC]
        # monitoring-app self-reports (PMSys, generic daily.csv); scale and direction in the name and
        # in SELF_REPORT_ITEMS: 1 = worst ... 5 = best (e.g. soreness 1 = very sore, 5 = not sore)
        **_SELF_REPORT_COLS,
        "sleep_reported_h": pl.Float64(),  # self-reported hours slept [h] (not device sleep)
        "soreness_area": pl.String(),  # where it is sore, as the app wrote it (PMSys: SNOMED codes)
    },
    key=("athlete_id", "source", "date"),
)

INJURIES = TableSchema(
    name="injuries",
    required={
        "athlete_id": pl.String(),
        "source": pl.String(),
        "date": pl.Date(),  # local date of the report
        "body_part": pl.String(),  # as the app names it ("right_thigh", "stomach_back"); null: reported none
        "severity": pl.String(),  # "minor", "major" (as reported), "none" for a report without injury
        "is_back": pl.Boolean(),  # the body part is the back (PMSys "stomach_back", "lower_back", ...)
        "source_file": pl.String(),
    },
    key=("athlete_id", "source", "date", "body_part"),
)

DAILY = TableSchema(
    name="daily",
    required={
        "athlete_id": pl.String(),
        "date": pl.Date(),
        "load_au": pl.Float64(),  # sum of session loads, 0 on a rest day
        "n_sessions": pl.Int32(),
        "duration_s": pl.Float64(),  # total session time [s], 0 on a rest day
        "rhr_bpm": pl.Float64(),
        "hrv_ln_rmssd": pl.Float64(),  # ln(rMSSD [ms])
        "hrv_sdnn_ms": pl.Float64(),
        "sleep_h": pl.Float64(),  # main sleep ending that day [h], naps excluded
        "in_bed_h": pl.Float64(),
        "nap_h": pl.Float64(),
        "back_pain_0_10": pl.Float64(),
        "soreness": pl.Float64(),
        "red_flag": pl.Boolean(),
    },
    optional={
        "load_family": pl.String(),  # unit family of load_au for this athlete ("srpe", "tss", "trimp")
        # self-reports (WELLNESS), the worst value of the day when several sources report
        **_SELF_REPORT_COLS,
        "sleep_reported_h": pl.Float64(),
        # device-detected everyday activity (auto-detected walks ...), kept out of load_au [min]
        "everyday_min": pl.Float64(),
        # whether a session source covers the day (features.daily): False = no training data, load_au null
        "load_covered": pl.Boolean(),
    },
    key=("athlete_id", "date"),
)

_FEATURE_CONTRACT: dict[str, pl.DataType] = {
    "athlete_id": pl.String(),
    "date": pl.Date(),
    "load_au": pl.Float64(),
    "acute_7d_au": pl.Float64(),
    "chronic_28d_au": pl.Float64(),
    "acwr": pl.Float64(),
    "acwr_uncoupled": pl.Float64(),
    "acwr_ewma": pl.Float64(),
    "weekly_change_pct": pl.Float64(),
    "monotony": pl.Float64(),
    "strain_au": pl.Float64(),
    "ctl": pl.Float64(),
    "atl": pl.Float64(),
    "tsb": pl.Float64(),
    "rhr_bpm": pl.Float64(),
    "rhr_7d_bpm": pl.Float64(),
    "rhr_z": pl.Float64(),
    "hrv_ln_rmssd": pl.Float64(),
    "hrv_7d_ln": pl.Float64(),
    "hrv_z": pl.Float64(),
    "sleep_h": pl.Float64(),
    "sleep_7d_h": pl.Float64(),
    "sleep_debt_7d_h": pl.Float64(),
}

FEATURES = TableSchema(
    name="features",
    required={
        **_FEATURE_CONTRACT,
        # extras for the scorer (after the contract columns)
        "hard_day_streak": pl.Int32(),  # consecutive days ending d with load_au > 1.5 x ctl
        "data_coverage_7d": pl.Float64(),  # share of d-6..d with (RHR or HRV) and sleep present, 0-1
        "ctl_ramp_7d": pl.Float64(),  # ctl_d - ctl_(d-7)
        "rhr_baseline_bpm": pl.Float64(),  # mean rhr_bpm over d-60..d-1 (>= 14 values)
        "rhr_delta_bpm": pl.Float64(),  # rhr_7d_bpm - rhr_baseline_bpm
        "hrv_baseline_ln": pl.Float64(),  # mean hrv_ln_rmssd over d-60..d-1 (>= 14 values)
        "sleep_eff_7d_pct": pl.Float64(),  # mean of 100 * asleep / in bed over d-6..d (>= 3 nights)
        "strain_p90_au": pl.Float64(),  # 90th percentile of the athlete's strain_au before d
        "back_pain_0_10": pl.Float64(),
        "back_pain_streak_d": pl.Int32(),  # consecutive days ending d with back pain >= 3/10
        "back_pain_rising_3d": pl.Boolean(),  # pain rose on each of the last 3 days
        "red_flag": pl.Boolean(),
        "load_family": pl.String(),
    },
    optional={
        # EWMA state of the acwr_ewma recursion (features.compute), kept so that
        # an incremental run can continue the recursion from the stored last row
        "load_ewma_7d_au": pl.Float64(),  # EWMA(7) of load_au [AU]
        "load_ewma_28d_au": pl.Float64(),  # EWMA(28) of load_au [AU]
        # the athlete's usual sleep: mean sleep_h over d-60..d-1 (>= 14 nights); the scorer's
        # personal sleep rule (null in features stored before it existed: the rule then has no baseline)
        "sleep_baseline_h": pl.Float64(),
        # False: no session source covers the day (DAILY.load_covered); its load features are null
        "load_covered": pl.Boolean(),
        # the CTL / ATL recursion state, kept on days whose ctl / atl are null for want of training
        # data, so that an incremental run continues exactly as a full one
        "ctl_state": pl.Float64(),
        "atl_state": pl.Float64(),
        # the day's self-reports, passed through from DAILY for the report (not score inputs here)
        **_SELF_REPORT_COLS,
        "everyday_min": pl.Float64(),
    },
    key=("athlete_id", "date"),
    export=None,
)

RISK_BANDS = ("low", "moderate", "high", "insufficient_data")

REASON_CODES = (
    "acwr_spike",
    "weekly_ramp",
    "monotony",
    "hard_day_streak",
    "ctl_ramp",
    "hrv_suppressed",
    "rhr_elevated",
    "sleep_debt",
    "back_symptoms",
    "red_flag",
)

ADJUSTMENT_CODES = (
    "cut_volume",
    "hold_volume",
    "easy_day",
    "rest_day",
    "prioritise_sleep",
    "vary_load",
    "deload_week",
    "mobility",
    "see_clinician",
)

SCORES = TableSchema(
    name="scores",
    required={
        "athlete_id": pl.String(),
        "date": pl.Date(),
        "risk_score": pl.Float64(),  # 0-100
        "risk_band": pl.String(),  # one of RISK_BANDS
        "reasons": pl.String(),  # reason codes joined by ";", largest contribution first
        "adjustments": pl.String(),  # adjustment codes joined by ";"
    },
    optional={
        "coverage_points": pl.Float64(),  # sum of caps of components with data
        "score_pct_of_coverage": pl.Float64(),  # 100 * points / coverage
        # JSON list of {"component", "reason", "points", "cap", "value", "rule"}
        "components_json": pl.String(),
        # JSON list of {"code", "text"} with concrete numbers
        "adjustments_json": pl.String(),
        "model": pl.String(),  # "rules" or the learned model id
    },
    key=("athlete_id", "date"),
    export=("athlete_id", "date", "risk_score", "risk_band", "reasons", "adjustments"),
)

TABLES: dict[str, TableSchema] = {s.name: s for s in (SESSIONS, SLEEP, WELLNESS, INJURIES, DAILY, FEATURES, SCORES)}


def _same_dtype(found: pl.DataType, expected: pl.DataType) -> bool:
    if isinstance(expected, pl.Datetime) and isinstance(found, pl.Datetime):
        return found.time_zone == expected.time_zone
    return found == expected


def require(df: pl.DataFrame | pl.LazyFrame, schema: TableSchema) -> None:
    """Check that ``df`` has every required column of ``schema`` with its dtype.

    Optional columns, when present, must also have their dtype. Extra columns
    are allowed.

    Raises
    ------
    SchemaError
        ``"sessions: column 'duration_s' expected Float64, found String"`` or
        ``"sessions: missing column 'start_utc' (expected Datetime(...))"``.
    """
    found = df.collect_schema() if isinstance(df, pl.LazyFrame) else df.schema
    for col, expected in schema.required.items():
        if col not in found:
            raise SchemaError(f"{schema.name}: missing column {col!r} (expected {expected})")
        if not _same_dtype(found[col], expected):
            raise SchemaError(f"{schema.name}: column {col!r} expected {expected}, found {found[col]}")
    for col, expected in schema.optional.items():
        if col in found and not _same_dtype(found[col], expected) and found[col] != pl.Null():
            raise SchemaError(f"{schema.name}: column {col!r} expected {expected}, found {found[col]}")


def conform(df: pl.DataFrame, schema: TableSchema, *, strict: bool = False) -> pl.DataFrame:
    """Return ``df`` with every schema column, in schema order, cast to its dtype.

    Missing optional columns (and, unless ``strict``, missing required
    columns) are added as nulls; extra columns are kept after the schema's.
    A cast that would lose data raises :class:`SchemaError` naming the column.
    """
    cols = schema.columns
    # fast path: every schema column already in place with its dtype (the common case when a
    # frame is conformed twice); the select below would be an identity, so skip its round trip
    names = df.columns
    if names[: len(cols)] == list(cols):
        dtypes = df.dtypes
        # strict=False: extra columns may follow the schema's; only the first len(cols) are compared
        if all(found == expected for found, expected in zip(dtypes, cols.values(), strict=False)):
            return df.clone()  # a new frame object, as the select would return
    exprs = []
    for col, dtype in cols.items():
        if col in df.columns:
            if df.schema[col] == dtype:
                exprs.append(pl.col(col))
            else:
                exprs.append(pl.col(col).cast(dtype, strict=True))
        else:
            if strict and col in schema.required:
                raise SchemaError(f"{schema.name}: missing column {col!r} (expected {dtype})")
            exprs.append(pl.lit(None, dtype=dtype).alias(col))
    extra = [c for c in df.columns if c not in cols]
    try:
        out = df.select(exprs + [pl.col(c) for c in extra])
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as err:
        raise SchemaError(f"{schema.name}: cannot cast to schema: {err}") from err
    require(out, schema)
    return out
