"""Session load: the fallback chain of the domain brief (section 1), one unit family per athlete.

Pure functions: polars in, polars out; no clock, file or environment reads.

The chain
---------
Every session gets the first measure of this list that can be expressed in its
athlete's *load family* (see below):

====================  ===========  =====================================================
``load_method``       family       value
====================  ===========  =====================================================
``srpe``              ``srpe``     ``rpe [CR10] x duration_s / 60`` (Foster [1]_)
``manual``            ``srpe``     a ``load_au`` given by the input (coach sheet)
``tss``               ``tss``      device/power TSS (``device_load_kind == "tss"``) [2]_
``trimp_stream``      ``trimp``    Banister TRIMP integrated over ``hr_hist_s`` [3]_ [4]_
``trimp_avg``         ``trimp``    Banister TRIMP from ``avg_hr_bpm`` and the duration
``epoc``              ``epoc``     Garmin ``training_load_peak`` (``device_load_kind == "epoc"``)
``kcal``              ``kcal``     ``energy_kcal``
``duration_default_   ``srpe``     ``duration_s / 60 x`` the sport's default RPE
rpe``                              (4 endurance, 6 strength), low confidence
``duration_rate``     (primary)    ``duration_s / 60 x`` the athlete's median load per
                                   minute in its family (non-sRPE families only)
====================  ===========  =====================================================

Unit families are never mixed (the rule)
----------------------------------------
ACWR, monotony and CTL only make sense inside one unit: 100 AU of sRPE is not
100 TSS. So, per athlete:

1. The athlete's **primary family** is the family that covers the largest
   share of the athlete's **training time**: the summed ``duration_s`` of the
   training sessions carrying a native value of it (a session without
   duration weighs the athlete's median session duration). Not the number of
   sessions: a tracker that logs many short walks must not outvote the
   session RPE the athlete logged for every real workout. Ties are broken in
   chain order (srpe, tss, trimp, epoc, kcal); an athlete with no measure at
   all is ``srpe``. Pass ``primary_family`` to pin it (per athlete or for
   everybody; ``pin_origin`` says where the pin came from). Every athlete's
   choice and why is returned in ``load_family_reason``.
2. A session with a native value in the primary family uses it (scale 1).
3. Otherwise the first other family in chain order with a native value is
   **converted** with a per-athlete least-squares fit through the origin,
   ``k = sum(x*y) / sum(x^2)``, fitted on the athlete's sessions that carry
   both that family (x) and the primary family (y); only when there are at
   least ``min_pairs`` (10) such sessions. Confidence ``medium``.
4. Otherwise the duration fallback: ``srpe`` family ->
   minutes x sport default RPE; other families -> minutes x the sport default
   RPE converted by the srpe fit when it exists, else minutes x the athlete's
   median primary load per minute. Confidence ``low``.
5. A session without duration and without any usable measure keeps a null
   ``load_au`` (``load_method`` null): it is not counted as a rest day's 0.

Everyday activity
-----------------
A session the device detected on its own (``auto_detected``, e.g. Fitbit's
SmartTrack) whose sport is everyday movement (:data:`EVERYDAY_SPORTS`:
walking) is **everyday activity**, not training: it keeps its row, gets
``everyday`` true, ``load_method`` ``"everyday"`` and no ``load_au``, takes no
part in the family choice, the conversion fits or the median rate, and the
daily table shows its minutes apart (``everyday_min``). Pass
``count_everyday=True`` to count it as training like any other session. An
auto-detected run or ride is training.

The result carries ``load_family`` (the athlete's primary family) on every
row, which the features stage passes on (CTL-ramp thresholds apply only when
it is ``tss``), and ``load_scale`` (the conversion factor applied, 1.0 for
native values).

References
----------
.. [1] Foster C et al. A new approach to monitoring exercise training.
   J Strength Cond Res 2001;15:109-115.
.. [2] Allen H, Coggan A. Training and Racing with a Power Meter. 2010.
.. [3] Banister EW. Modeling elite athletic performance. 1991; Banister EW,
   Aust J Sports Med 1975;7:57.
.. [4] Morton RH et al. Modeling human performance in running.
   J Appl Physiol 1990;69:1171-1177.
.. [5] GoldenCheetah src/Metrics/TRIMPPoints.cpp (Banister TRIMP, sex constants).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Literal

import numpy as np
import polars as pl

from features.schemas import SESSIONS, WELLNESS, require

__all__ = [
    "FAMILIES",
    "METHOD_FAMILY",
    "DEFAULT_SPORT_RPE",
    "DEFAULT_RPE",
    "EVERYDAY_SPORTS",
    "DEFAULT_HR_REST_BPM",
    "DEFAULT_HR_MAX_BPM",
    "BANISTER_CONSTANTS",
    "banister_trimp_avg",
    "banister_trimp_hist",
    "hr_reference_from_history",
    "assign_session_loads",
]

#: Unit families in chain order (the tie-break order for the primary family).
FAMILIES: tuple[str, ...] = ("srpe", "tss", "trimp", "epoc", "kcal")

#: Family of each ``load_method``.
METHOD_FAMILY: dict[str, str] = {
    "srpe": "srpe",
    "manual": "srpe",
    "duration_default_rpe": "srpe",
    "tss": "tss",
    "trimp_stream": "trimp",
    "trimp_avg": "trimp",
    "epoc": "epoc",
    "kcal": "kcal",
}

#: Sports that are everyday movement when the device detected them on its own.
EVERYDAY_SPORTS: tuple[str, ...] = ("walking",)

#: Default session RPE [CR10] by sport when nothing else is known (brief section 1:
#: 4 endurance, 6 strength). Keys are lower-case sport names; others get DEFAULT_RPE.
DEFAULT_SPORT_RPE: dict[str, float] = {
    "strength": 6.0,
    "strength_training": 6.0,
    "training": 6.0,
    "weightlifting": 6.0,
    "crossfit": 6.0,
    "hiit": 6.0,
}
DEFAULT_RPE = 4.0

DEFAULT_HR_REST_BPM = 60.0
DEFAULT_HR_MAX_BPM = 190.0
#: Observed maxima outside this range are treated as sensor artefacts [bpm].
PLAUSIBLE_HR_MAX_BPM = (100.0, 230.0)

#: Banister weighting ``a * exp(b * x)``: men 0.64, 1.92; women 0.86, 1.67 [3]_ [4]_.
BANISTER_CONSTANTS: dict[str, tuple[float, float]] = {
    "male": (0.64, 1.92),
    "female": (0.86, 1.67),
}
_SEX_ALIASES = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female"}


def _banister_ab(sex: str | None) -> tuple[float, float]:
    """Constants for ``sex``; unknown sex uses the male constants (as GoldenCheetah does)."""
    key = _SEX_ALIASES.get((sex or "").strip().lower(), "male")
    return BANISTER_CONSTANTS[key]


def banister_trimp_avg(
    duration_s: float, avg_hr_bpm: float, hr_rest_bpm: float, hr_max_bpm: float, sex: str | None = None
) -> float:
    """Banister TRIMP from a session's mean heart rate.

    ``TRIMP = min x x x a e^(b x)``, ``x = (HRavg - HRrest) / (HRmax - HRrest)``,
    0 when ``x`` is negative [3]_ [4]_.

    Parameters
    ----------
    duration_s : float
        Session (timer) duration [s].
    avg_hr_bpm, hr_rest_bpm, hr_max_bpm : float
        Mean, resting and maximal heart rate [bpm]; ``hr_max_bpm > hr_rest_bpm``.
    sex : str, optional
        ``"male"``/``"female"`` (``"m"``/``"f"``); unknown uses the male constants.

    Returns
    -------
    float
        TRIMP [AU].

    Examples
    --------
    >>> round(banister_trimp_avg(3600, 150, 60, 190, "male"), 2)  # 60 x 0.6923 x 0.64 e^(1.92 x 0.6923)
    100.44
    """
    if hr_max_bpm <= hr_rest_bpm:
        raise ValueError(f"hr_max_bpm ({hr_max_bpm}) must exceed hr_rest_bpm ({hr_rest_bpm})")
    a, b = _banister_ab(sex)
    x = (avg_hr_bpm - hr_rest_bpm) / (hr_max_bpm - hr_rest_bpm)
    if x <= 0:
        return 0.0
    return duration_s / 60.0 * x * a * math.exp(b * x)


def banister_trimp_hist(hr_hist_s, hr_rest_bpm: float, hr_max_bpm: float, sex: str | None = None) -> float:
    """Banister TRIMP integrated over a heart-rate histogram (per-record integration).

    ``TRIMP = sum_bpm (s_bpm / 60) x x_bpm x a e^(b x_bpm)`` with
    ``x_bpm = (bpm - HRrest) / (HRmax - HRrest)``; bins with ``x <= 0`` add 0.
    Integrating per record instead of using the session mean avoids the
    under-count of interval sessions (brief section 1).

    Parameters
    ----------
    hr_hist_s : sequence of float, length <= 256
        Seconds spent at each integer heart rate; index = bpm [s].
    hr_rest_bpm, hr_max_bpm : float
        [bpm]
    sex : str, optional
        As in :func:`banister_trimp_avg`.

    Returns
    -------
    float
        TRIMP [AU].
    """
    if hr_max_bpm <= hr_rest_bpm:
        raise ValueError(f"hr_max_bpm ({hr_max_bpm}) must exceed hr_rest_bpm ({hr_rest_bpm})")
    a, b = _banister_ab(sex)
    s = np.asarray(hr_hist_s, dtype=np.float64)
    s = np.nan_to_num(s, nan=0.0)
    bpm = np.arange(s.size, dtype=np.float64)
    x = (bpm - hr_rest_bpm) / (hr_max_bpm - hr_rest_bpm)
    w = np.where(x > 0, x * a * np.exp(b * x), 0.0)
    return float(np.dot(s / 60.0, w))


def _window_start(end: date, days: int) -> date:
    return end - timedelta(days=days - 1)


def hr_reference_from_history(
    sessions: pl.DataFrame,
    wellness: pl.DataFrame | None = None,
    *,
    as_of: date | None = None,
    window_days: int = 180,
    default_hr_rest_bpm: float = DEFAULT_HR_REST_BPM,
    default_hr_max_bpm: float = DEFAULT_HR_MAX_BPM,
) -> pl.DataFrame:
    """Per-athlete HRrest and HRmax for TRIMP, from the athlete's own history.

    * ``hr_rest_bpm``: median of ``wellness.rhr_bpm`` over the window.
    * ``hr_max_bpm``: the highest session ``max_hr_bpm`` in the window (or the
      highest bin of ``hr_hist_s`` with time in it), ignoring values outside
      100-230 bpm as artefacts.

    The window is the ``window_days`` local days ending on ``as_of``, or, when
    ``as_of`` is None, on the athlete's last day with sessions or wellness
    data. An athlete without values gets the defaults, flagged in
    ``hr_rest_is_default`` / ``hr_max_is_default`` (brief section 1: "flag
    values that fall back to defaults").

    Parameters
    ----------
    sessions : polars.DataFrame
        SESSIONS frame.
    wellness : polars.DataFrame, optional
        WELLNESS frame.
    as_of : datetime.date, optional
        Last local day of the window.
    window_days : int
        Window length [d], default 180.
    default_hr_rest_bpm, default_hr_max_bpm : float
        Fallbacks [bpm].

    Returns
    -------
    polars.DataFrame
        ``athlete_id``, ``hr_rest_bpm``, ``hr_max_bpm``, ``hr_rest_is_default``,
        ``hr_max_is_default``, ``n_rhr_days``, ``n_hr_sessions``; one row per
        athlete found in either frame, sorted by athlete.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    if default_hr_max_bpm <= default_hr_rest_bpm:
        raise ValueError("default_hr_max_bpm must exceed default_hr_rest_bpm")
    require(sessions, SESSIONS)
    if wellness is None:
        wellness = WELLNESS.empty()
    require(wellness, WELLNESS)
    lo, hi = PLAUSIBLE_HR_MAX_BPM

    sess = sessions.select(
        "athlete_id",
        pl.col("local_date").alias("d"),
        pl.col("max_hr_bpm").alias("mx"),
        (pl.col("hr_hist_s") if "hr_hist_s" in sessions.columns else pl.lit(None, pl.List(pl.Float32))).alias("h"),
    )
    well = wellness.select("athlete_id", pl.col("date").alias("d"), pl.col("rhr_bpm"))
    last = (
        pl.concat([sess.select("athlete_id", "d"), well.select("athlete_id", "d")])
        .group_by("athlete_id")
        .agg(pl.col("d").max().alias("end"))
    )
    # every athlete's window [end - window_days + 1, end] as columns: one join and one group_by per
    # table for the whole team (the per-athlete loop this replaced took ~1.4 s for 1,000 athletes)
    ends = last.with_columns((pl.lit(as_of, pl.Date) if as_of is not None else pl.col("end")).alias("end")).filter(
        pl.col("end").is_not_null()
    )
    ends = ends.with_columns((pl.col("end") - pl.duration(days=window_days - 1)).alias("start"))
    in_window = pl.col("d").is_between(pl.col("start"), pl.col("end"))
    w = well.join(ends, on="athlete_id", how="inner").filter(in_window)
    rest = w.group_by("athlete_id").agg(
        pl.col("rhr_bpm").drop_nulls().median().alias("hr_rest"),
        pl.col("rhr_bpm").drop_nulls().len().cast(pl.Int64).alias("n_rhr_days"),
    )
    s = sess.join(ends, on="athlete_id", how="inner").filter(in_window)
    plausible = pl.col("mx").is_not_null() & (pl.col("mx") >= lo) & (pl.col("mx") <= hi)
    mx = (
        s.filter(plausible)
        .group_by("athlete_id")
        .agg(pl.col("mx").max().alias("hr_max"), pl.len().cast(pl.Int64).alias("n_max"))
    )
    # sessions without max_hr_bpm: the highest bin of the histogram with time in it (Python, those rows only)
    hist_max: dict[str, list[float]] = {}
    for athlete, h in (
        s.filter(pl.col("mx").is_null() & pl.col("h").is_not_null()).select("athlete_id", "h").iter_rows()
    ):
        nz = [i for i, t in enumerate(h) if t is not None and t > 0]
        if nz and lo <= max(nz) <= hi:
            hist_max.setdefault(athlete, []).append(float(max(nz)))
    hist = pl.DataFrame(
        {
            "athlete_id": list(hist_max),
            "hist_max": [max(v) for v in hist_max.values()],
            "n_hist": [len(v) for v in hist_max.values()],
        },
        schema={"athlete_id": pl.String, "hist_max": pl.Float64, "n_hist": pl.Int64},
    )
    schema = {
        "athlete_id": pl.String,
        "hr_rest_bpm": pl.Float64,
        "hr_max_bpm": pl.Float64,
        "hr_rest_is_default": pl.Boolean,
        "hr_max_is_default": pl.Boolean,
        "n_rhr_days": pl.Int64,
        "n_hr_sessions": pl.Int64,
    }
    both = (
        ends.select(pl.col("athlete_id").cast(pl.String))
        .join(rest, on="athlete_id", how="left")
        .join(mx, on="athlete_id", how="left")
        .join(hist, on="athlete_id", how="left")
        .with_columns(pl.max_horizontal("hr_max", "hist_max").alias("hr_max"))
    )
    out = (
        both.sort("athlete_id")
        .select(
            "athlete_id",
            pl.col("hr_rest").fill_null(float(default_hr_rest_bpm)).alias("hr_rest_bpm"),
            pl.col("hr_max").fill_null(float(default_hr_max_bpm)).alias("hr_max_bpm"),
            pl.col("hr_rest").is_null().alias("hr_rest_is_default"),
            pl.col("hr_max").is_null().alias("hr_max_is_default"),
            pl.col("n_rhr_days").fill_null(0),
            (pl.col("n_max").fill_null(0) + pl.col("n_hist").fill_null(0)).alias("n_hr_sessions"),
        )
        .cast(schema)
    )
    # a max below the rest value (e.g. rest from a sick week, max from one walk) is unusable
    return out.with_columns(
        pl.when(pl.col("hr_max_bpm") <= pl.col("hr_rest_bpm") + 20)
        .then(pl.lit(float(default_hr_max_bpm)))
        .otherwise(pl.col("hr_max_bpm"))
        .alias("hr_max_bpm"),
        ((pl.col("hr_max_bpm") <= pl.col("hr_rest_bpm") + 20) | pl.col("hr_max_is_default")).alias("hr_max_is_default"),
    )


def _stream_trimps(sessions, by_athlete, hr_rest_bpm, hr_max_bpm, sex, d_rest, d_max) -> list[float | None]:
    """Banister TRIMP of every row's ``hr_hist_s`` (None without time in the histogram).

    Vectorised per athlete: the histograms form an (n, 256) matrix and the
    TRIMP weights of the 256 bpm bins are the same for all of an athlete's
    sessions, so TRIMP = H / 60 @ w.
    """
    out: list[float | None] = [None] * sessions.height
    if "hr_hist_s" not in sessions.columns:
        return out
    hist = sessions["hr_hist_s"]
    if hist.dtype == pl.Null or hist.null_count() == hist.len():
        return out
    for a, idx in by_athlete.items():
        sub = hist.gather(idx)
        lens = sub.list.len()
        ok = (sub.is_not_null() & (lens > 0) & (lens <= 256)).fill_null(False).to_numpy()
        if not ok.any():
            continue
        rows = np.asarray(idx)[ok]
        padded = (
            sub.filter(pl.Series(ok))
            .cast(pl.List(pl.Float64))
            .list.concat(pl.lit([0.0] * 256, dtype=pl.List(pl.Float64)))
            .list.head(256)
        )
        mat = np.nan_to_num(padded.list.to_array(256).to_numpy().astype(np.float64), nan=0.0)
        rest = _get(hr_rest_bpm, a)
        mx = _get(hr_max_bpm, a)
        rest = float(rest if rest is not None else d_rest)
        mx = float(mx if mx is not None else d_max)
        if mx <= rest:
            continue
        aa, bb = _banister_ab(_get(sex, a))
        x = (np.arange(256, dtype=np.float64) - rest) / (mx - rest)
        w = np.where(x > 0, x * aa * np.exp(bb * x), 0.0)
        tr = (mat / 60.0) @ w
        total = mat.sum(axis=1)
        for r, v, t in zip(rows.tolist(), tr.tolist(), total.tolist(), strict=True):
            if t > 0:
                out[r] = v
    return out


_CONF_ORDER = ("high", "medium", "low")


_SRPE, _TSS, _TRIMP, _EPOC, _KCAL = (FAMILIES.index(f) for f in ("srpe", "tss", "trimp", "epoc", "kcal"))
#: Every ``load_method`` the chain writes, by code (:func:`assign_session_loads` works on codes).
_METHODS: tuple[str, ...] = (*METHOD_FAMILY, "duration_rate", "everyday")
_METHOD_CODE = {m: i for i, m in enumerate(_METHODS)}
#: Family of each method code (-1: no family of its own).
_METHOD_CODE_FAMILY = np.array([FAMILIES.index(METHOD_FAMILY[m]) if m in METHOD_FAMILY else -1 for m in _METHODS])
_KIND_CODE = {"tss": 1, "epoc": 2}


def _lower(conf: str) -> str:
    return _CONF_ORDER[min(_CONF_ORDER.index(conf) + 1, 2)]


def _get(mapping: Mapping | None, key, default=None):
    if mapping is None:
        return default
    v = mapping.get(key)
    return default if v is None else v


def assign_session_loads(
    sessions: pl.DataFrame,
    *,
    hr_rest_bpm: Mapping[str, float] | None = None,
    hr_max_bpm: Mapping[str, float] | None = None,
    sex: Mapping[str, str] | None = None,
    sport_default_rpe: Mapping[str, float] | None = None,
    default_rpe: float = DEFAULT_RPE,
    primary_family: str | Mapping[str, str] | Literal["auto"] = "auto",
    min_pairs: int = 10,
    default_hr_rest_bpm: float = DEFAULT_HR_REST_BPM,
    default_hr_max_bpm: float = DEFAULT_HR_MAX_BPM,
    pin_origin: str | Mapping[str, str] | None = None,
    count_everyday: bool = False,
    everyday_sports: tuple[str, ...] = EVERYDAY_SPORTS,
) -> pl.DataFrame:
    """Fill ``load_au``, ``load_method``, ``load_confidence`` by the fallback chain.

    See the module docstring for the chain and the one-family-per-athlete rule.

    Columnar: numpy over all rows for the native values and the final choice,
    Python once per athlete (family shares, conversion fits, median rate,
    reason text) and once per distinct sport, device-load kind and method
    string. Sums run in row order through Python's ``sum`` and ``math.exp``
    gives the TRIMP weights, so every output equals the per-row chain this
    replaced bit for bit (kept as the oracle in
    ``tests/features/load_reference.py``; ``tests/features/test_load_columnar.py``).

    Parameters
    ----------
    sessions : polars.DataFrame
        SESSIONS frame (``features.schemas.SESSIONS``). Rows that already have
        a ``load_au`` keep it when its family (from ``load_method``; null or
        unknown methods count as ``manual``, i.e. sRPE-like AU) is the
        athlete's family; otherwise it is converted like any other measure.
    hr_rest_bpm, hr_max_bpm : mapping of athlete_id to float, optional
        Per-athlete HR references [bpm] (see :func:`hr_reference_from_history`).
        Missing athletes use ``default_hr_rest_bpm`` / ``default_hr_max_bpm``
        and their TRIMP confidence is lowered one step.
    sex : mapping of athlete_id to str, optional
        ``"male"``/``"female"`` for the Banister constants; unknown -> male.
    sport_default_rpe : mapping of sport to float, optional
        Default CR10 per lower-case sport, merged over :data:`DEFAULT_SPORT_RPE`.
    default_rpe : float
        Default CR10 for sports not in the mapping (4, endurance).
    primary_family : {"auto", "srpe", "tss", "trimp", "epoc", "kcal"} or mapping
        The athlete's unit family; ``"auto"`` picks the family with most
        native values (see module docstring). A mapping pins it per athlete
        (athletes not in it use "auto").
    min_pairs : int
        Paired sessions needed to fit a conversion factor (default 10).
    default_hr_rest_bpm, default_hr_max_bpm : float
        [bpm]
    pin_origin : str or mapping of athlete_id to str, optional
        Where a pinned family came from (``"roster"``, ``"team default"``,
        ``"--load-family"``), for ``load_family_reason``.
    count_everyday : bool
        Count device-detected everyday activity as training (default False).
    everyday_sports : tuple of str
        Sports that are everyday activity when auto-detected (default walking).

    Returns
    -------
    polars.DataFrame
        ``sessions`` in the same row order with ``load_au`` [AU, in the
        athlete's family], ``load_method``, ``load_confidence``
        (``high``/``medium``/``low``) filled, and extra columns:
        ``load_family`` (the athlete's family), ``load_scale`` (the
        conversion factor applied; 1.0 for native values, null without load),
        ``everyday`` (device-detected everyday activity, out of the load) and
        ``load_family_reason`` (the athlete's family and why, one text per
        athlete).

    Examples
    --------
    One 60-min run rated 5: sRPE = 5 x 60 = 300 AU, method ``srpe``.
    """
    require(sessions, SESSIONS)
    valid = set(FAMILIES) | {"auto"}
    pins: Mapping[str, str] = {}
    if isinstance(primary_family, str):
        if primary_family not in valid:
            raise ValueError(f"primary_family must be one of {sorted(valid)}, got {primary_family!r}")
        global_pin = primary_family
    else:
        pins = primary_family
        bad = {v for v in pins.values() if v not in valid}
        if bad:
            raise ValueError(f"primary_family values must be in {sorted(valid)}, got {sorted(bad)}")
        global_pin = "auto"
    if min_pairs < 1:
        raise ValueError(f"min_pairs must be >= 1, got {min_pairs}")
    if default_hr_max_bpm <= default_hr_rest_bpm:
        raise ValueError("default_hr_max_bpm must exceed default_hr_rest_bpm")
    rpe_by_sport = {**DEFAULT_SPORT_RPE, **{k.lower(): float(v) for k, v in (sport_default_rpe or {}).items()}}

    n = sessions.height
    fams = len(FAMILIES)
    ar = np.arange(n)

    # the columns as numpy arrays: values and null masks apart (a null is not a NaN: a NaN duration
    # gives a NaN sRPE, a null one none); strings through Python's own str.lower, once per distinct value
    def num(c: str) -> tuple[np.ndarray, np.ndarray]:
        if c not in sessions.columns:
            return np.zeros(n), np.ones(n, dtype=bool)
        s = sessions[c].cast(pl.Float64)
        return s.fill_null(0.0).to_numpy(), s.is_null().to_numpy()

    def per_value(c: str, fn, dtype: pl.DataType) -> np.ndarray:
        s = sessions[c].cast(pl.String) if c in sessions.columns else pl.repeat(None, n, dtype=pl.String, eager=True)
        uniq = [u for u in s.unique().to_list() if u is not None]
        out = s.replace_strict(uniq, [fn(u) for u in uniq], default=None, return_dtype=dtype)
        return out.fill_null(fn(None)).to_numpy()

    dur, dur_null = num("duration_s")
    avg, avg_null = num("avg_hr_bpm")
    rpe, rpe_null = num("rpe")
    dl, dl_null = num("device_load")
    kcal, kcal_null = num("energy_kcal")
    pre, pre_null = num("load_au")
    every_sports = {x.lower() for x in everyday_sports}
    auto = (
        sessions["auto_detected"].cast(pl.Boolean).fill_null(False).to_numpy()
        if "auto_detected" in sessions.columns
        else np.zeros(n, dtype=bool)
    )
    everyday = auto & per_value("sport", lambda s: (s or "").lower() in every_sports, pl.Boolean)
    if count_everyday:
        everyday = np.zeros(n, dtype=bool)
    d_rpe = per_value("sport", lambda s: rpe_by_sport.get((s or "").lower(), float(default_rpe)), pl.Float64)
    kind = per_value("device_load_kind", lambda s: _KIND_CODE.get((s or "").lower(), 0), pl.Int8)

    def pre_method(m: str | None) -> int:
        m = m or "manual"
        return _METHOD_CODE[m if m in METHOD_FAMILY else "manual"]

    pre_meth = per_value("load_method", pre_method, pl.Int8)
    pre_fam = _METHOD_CODE_FAMILY[pre_meth]

    # the athletes, in order of first appearance, each with its row numbers in row order
    groups = (
        sessions.select(pl.col("athlete_id").cast(pl.String))
        .with_row_index("i")
        .group_by("athlete_id", maintain_order=True)
        .agg(pl.col("i"))
    )
    athletes = groups["athlete_id"].to_list()
    flat = groups["i"].explode().to_numpy().astype(np.int64) if n else np.zeros(0, dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(groups["i"].list.len().to_numpy())]).astype(np.int64)
    code = np.empty(n, dtype=np.int64)
    for g in range(len(athletes)):
        code[flat[bounds[g] : bounds[g + 1]]] = g
    by_athlete = {a: flat[bounds[g] : bounds[g + 1]] for g, a in enumerate(athletes)}
    stream = _stream_trimps(sessions, by_athlete, hr_rest_bpm, hr_max_bpm, sex, default_hr_rest_bpm, default_hr_max_bpm)
    stream_s = pl.Series(stream, dtype=pl.Float64)
    st_has, st_val = stream_s.is_not_null().to_numpy(), stream_s.fill_null(0.0).to_numpy()

    # per athlete HR references and Banister constants, broadcast to rows
    g_rest, g_mx, g_def, g_ca, g_cb = (np.empty(len(athletes)) for _ in range(5))
    for g, a in enumerate(athletes):
        rest = _get(hr_rest_bpm, a)
        mx = _get(hr_max_bpm, a)
        g_def[g] = rest is None or mx is None
        g_rest[g] = float(rest if rest is not None else default_hr_rest_bpm)
        g_mx[g] = float(mx if mx is not None else default_hr_max_bpm)
        g_ca[g], g_cb[g] = _banister_ab(_get(sex, a))
    rest_r, mx_r, def_r, ca_r, cb_r = (v[code] for v in (g_rest, g_mx, g_def.astype(bool), g_ca, g_cb))

    # 1. native value, method and base confidence (0 high, 1 medium, 2 low) of every family on every row
    nat_has = np.zeros((fams, n), dtype=bool)
    nat_val = np.zeros((fams, n))
    nat_meth = np.zeros((fams, n), dtype=np.int8)
    nat_conf = np.zeros((fams, n), dtype=np.int8)

    def put(f: int, mask: np.ndarray, val, meth, conf) -> None:
        nat_has[f] |= mask
        nat_val[f] = np.where(mask, val, nat_val[f])
        nat_meth[f] = np.where(mask, meth, nat_meth[f])
        nat_conf[f] = np.where(mask, conf, nat_conf[f])

    ok = ~everyday
    with np.errstate(all="ignore"):  # inf and NaN propagate as in Python's float arithmetic
        pre_ok = ok & ~pre_null & np.isfinite(pre)
        for f in range(fams):
            put(f, pre_ok & (pre_fam == f), pre, pre_meth, 0)
        m = ok & ~nat_has[_SRPE] & ~rpe_null & ~dur_null & (rpe >= 0) & (rpe <= 10)
        put(_SRPE, m, rpe * dur / 60.0, _METHOD_CODE["srpe"], 0)
        dl_ok = ok & ~dl_null & np.isfinite(dl) & (dl >= 0)
        put(_TSS, dl_ok & (kind == 1) & ~nat_has[_TSS], dl, _METHOD_CODE["tss"], 0)
        put(_EPOC, dl_ok & (kind == 2) & ~nat_has[_EPOC], dl, _METHOD_CODE["epoc"], 1)
        tr_ok = ok & ~nat_has[_TRIMP] & (mx_r > rest_r)
        put(_TRIMP, tr_ok & st_has, st_val, _METHOD_CODE["trimp_stream"], np.where(def_r, 1, 0))
        m = tr_ok & ~st_has & ~avg_null & ~dur_null & (avg > 0)
        x = (avg - rest_r) / (mx_r - rest_r)
        pos = m & (x > 0)
        trimp = np.zeros(n)
        # banister_trimp_avg term by term; math.exp (not np.exp) so that every bit is Python's
        e = np.fromiter(map(math.exp, (cb_r[pos] * x[pos]).tolist()), dtype=np.float64, count=int(pos.sum()))
        trimp[pos] = dur[pos] / 60.0 * x[pos] * ca_r[pos] * e
        put(_TRIMP, m, trimp, _METHOD_CODE["trimp_avg"], np.where(def_r, 2, 1))
        put(_KCAL, ok & ~nat_has[_KCAL] & ~kcal_null & (kcal > 0), kcal, _METHOD_CODE["kcal"], 1)

    # 2. per athlete: primary family, conversion factors, median rate and the reason text. Sums run in
    # row order through Python's sum, as the per-row implementation summed them.
    n_g = len(athletes)
    prim_g = np.zeros(n_g, dtype=np.int64)
    fac_has = np.zeros((fams, n_g), dtype=bool)
    fac_val = np.zeros((fams, n_g))
    rate_has = np.zeros(n_g, dtype=bool)
    rate_val = np.zeros(n_g)
    reasons: list[str] = []
    dur_ok = ~dur_null & np.isfinite(dur) & (dur > 0)
    for g, a in enumerate(athletes):
        rows = flat[bounds[g] : bounds[g + 1]]
        idx = rows[ok[rows]]
        n_every = len(rows) - len(idx)
        pin = pins.get(a, global_pin) if pins else global_pin
        d_idx = dur[idx]
        valid = dur_ok[idx]
        typical = float(np.median(d_idx[valid])) if valid.any() else 3600.0
        weight = np.where(valid, d_idx, typical)
        total = sum(weight.tolist())
        share = {
            f: (sum(weight[nat_has[k][idx]].tolist()) / total if total > 0 else 0.0) for k, f in enumerate(FAMILIES)
        }
        shares_txt = ", ".join(f"{f} {100 * v:.0f}%" for f, v in share.items() if v > 0) or "no measure"
        if pin == "auto":
            best = max(share.values())
            prim = next(f for f in FAMILIES if share[f] == best) if best > 0 else "srpe"
            why = (
                f"{prim}: largest share of training time with a native value ({shares_txt})"
                if best > 0
                else "srpe: no session carries a load measure (durations x default RPE)"
            )
        else:
            prim = pin
            origin = _get(pin_origin, a) if isinstance(pin_origin, Mapping) else pin_origin
            why = f"{prim}: pinned by {origin or 'the caller'} (native shares of training time: {shares_txt})"
        if n_every and not count_everyday:
            ev = rows[everyday[rows]]
            every_min = sum(np.where(dur_null[ev], 0.0, dur[ev]).tolist()) / 60.0
            why += f"; {n_every} device-detected everyday session(s) ({every_min:.0f} min) kept out of the load"
        reasons.append(why)
        p = FAMILIES.index(prim)
        prim_g[g] = p
        has_p = nat_has[p][idx]
        if has_p.all():
            continue  # every session native in the primary family: no factor or rate is used
        for k in range(fams):
            if k == p:
                continue
            both = nat_has[k][idx] & has_p
            xs, ys = nat_val[k][idx][both], nat_val[p][idx][both]
            keep = xs > 0
            xs, ys = xs[keep], ys[keep]
            if len(xs) < min_pairs:
                continue
            with np.errstate(all="ignore"):  # products overflow to inf, as in Python
                sxx = sum((xs * xs).tolist())
                sxy = sum((xs * ys).tolist())
            if sxx > 0:
                fac_has[k, g] = True
                fac_val[k, g] = sxy / sxx
        with_rate = has_p & ~dur_null[idx] & (d_idx > 0)
        if with_rate.any():
            rate_has[g] = True
            with np.errstate(all="ignore"):  # inf / inf is NaN, as in Python
                rate_val[g] = float(np.median(nat_val[p][idx][with_rate] / (d_idx[with_rate] / 60.0)))

    # 3. every row: native in the primary family, else the first convertible family in chain order,
    # else the duration fallback
    prim_r = prim_g[code]
    load = np.zeros(n)
    has_load = np.zeros(n, dtype=bool)
    meth = np.full(n, -1, dtype=np.int8)
    conf = np.full(n, -1, dtype=np.int8)
    scale = np.zeros(n)
    with np.errstate(all="ignore"):
        native = ok & nat_has[prim_r, ar]
        load[native] = nat_val[prim_r, ar][native]
        meth[native] = nat_meth[prim_r, ar][native]
        conf[native] = nat_conf[prim_r, ar][native]
        scale[native] = 1.0
        has_load |= native
        rest_rows = ok & ~native
        for k in range(fams):
            kf = fac_val[k][code]
            m = rest_rows & nat_has[k] & fac_has[k][code]
            load[m] = nat_val[k][m] * kf[m]
            meth[m] = nat_meth[k][m]
            conf[m] = np.where(nat_conf[k][m] == 0, 1, 2)
            scale[m] = kf[m]
            has_load |= m
            rest_rows &= ~m
        fall = rest_rows & ~dur_null & np.isfinite(dur) & (dur >= 0)
        c1 = fall & (prim_r == _SRPE)
        load[c1] = d_rpe[c1] * dur[c1] / 60.0
        scale[c1] = 1.0
        k_srpe = fac_val[_SRPE][code]
        c2 = fall & ~c1 & fac_has[_SRPE][code]
        load[c2] = k_srpe[c2] * d_rpe[c2] * dur[c2] / 60.0
        scale[c2] = k_srpe[c2]
        meth[c1 | c2] = _METHOD_CODE["duration_default_rpe"]
        r = rate_val[code]
        c3 = fall & ~c1 & ~c2 & rate_has[code]
        load[c3] = r[c3] * dur[c3] / 60.0
        scale[c3] = r[c3]
        meth[c3] = _METHOD_CODE["duration_rate"]
        conf[c1 | c2 | c3] = 2
        has_load |= c1 | c2 | c3
    meth[everyday] = _METHOD_CODE["everyday"]
    if "recording_repair" in sessions.columns:
        # a session rebuilt or completed from laps/records (connectors.fit): one step less sure
        rep = sessions["recording_repair"].is_not_null().to_numpy() & (conf >= 0)
        conf[rep] = np.minimum(conf[rep] + 1, 2)

    nulls = pl.repeat(None, n, dtype=pl.Float64, eager=True)

    def names(codes: np.ndarray, labels: tuple[str, ...], name: str) -> pl.Series:
        return pl.Series(name, codes.astype(np.int16)).replace_strict(
            list(range(len(labels))), list(labels), default=None, return_dtype=pl.String
        )

    return sessions.with_columns(
        pl.Series("load_au", load).zip_with(pl.Series(has_load), nulls).alias("load_au"),
        names(meth, _METHODS, "load_method"),
        names(conf, _CONF_ORDER, "load_confidence"),
        names(prim_r, FAMILIES, "load_family"),
        pl.Series("load_scale", scale).zip_with(pl.Series(has_load), nulls).alias("load_scale"),
        pl.Series("everyday", everyday, dtype=pl.Boolean),
        pl.Series("load_family_reason", reasons, dtype=pl.String).gather(pl.Series(code)).alias("load_family_reason"),
    )
