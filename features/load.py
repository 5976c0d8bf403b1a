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
    rows = []
    # each athlete's rows once (in their order), not a filter of the whole team per athlete:
    # that was quadratic in the team size (about 60 % of the features stage for 1,000 athletes)
    well_by = {k[0]: v for k, v in well.partition_by("athlete_id", as_dict=True).items()} if well.height else {}
    sess_by = {k[0]: v for k, v in sess.partition_by("athlete_id", as_dict=True).items()} if sess.height else {}
    for athlete, end in sorted(last.iter_rows(), key=lambda r: r[0]):
        end = as_of or end
        if end is None:
            continue
        start = _window_start(end, window_days)
        w = well_by.get(athlete, well.clear()).filter(pl.col("d").is_between(start, end))
        rhr = w["rhr_bpm"].drop_nulls()
        s = sess_by.get(athlete, sess.clear()).filter(pl.col("d").is_between(start, end))
        maxima: list[float] = [float(v) for v in s["mx"].drop_nulls().to_list() if lo <= v <= hi]
        # sessions without max_hr_bpm: the highest bin of the histogram with time in it
        for h in s.filter(pl.col("mx").is_null() & pl.col("h").is_not_null())["h"].to_list():
            nz = [i for i, t in enumerate(h) if t is not None and t > 0]
            if nz and lo <= max(nz) <= hi:
                maxima.append(float(max(nz)))
        hr_rest = float(rhr.median()) if rhr.len() else None
        hr_max = max(maxima) if maxima else None
        rows.append(
            {
                "athlete_id": athlete,
                "hr_rest_bpm": hr_rest if hr_rest is not None else float(default_hr_rest_bpm),
                "hr_max_bpm": hr_max if hr_max is not None else float(default_hr_max_bpm),
                "hr_rest_is_default": hr_rest is None,
                "hr_max_is_default": hr_max is None,
                "n_rhr_days": int(rhr.len()),
                "n_hr_sessions": len(maxima),
            }
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
    out = pl.DataFrame(rows, schema=schema)
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

    has = set(sessions.columns)
    n = sessions.height
    cols = {
        c: (sessions[c].to_list() if c in has else [None] * n)
        for c in (
            "athlete_id",
            "sport",
            "duration_s",
            "avg_hr_bpm",
            "rpe",
            "device_load",
            "device_load_kind",
            "energy_kcal",
            "load_au",
            "load_method",
            "auto_detected",
        )
    }
    every_sports = {x.lower() for x in everyday_sports}
    everyday = [
        bool(cols["auto_detected"][i]) and (cols["sport"][i] or "").lower() in every_sports and not count_everyday
        for i in range(n)
    ]
    by_athlete: dict[str, list[int]] = {}
    for i, a in enumerate(cols["athlete_id"]):
        by_athlete.setdefault(a, []).append(i)
    stream_trimp = _stream_trimps(
        sessions, by_athlete, hr_rest_bpm, hr_max_bpm, sex, default_hr_rest_bpm, default_hr_max_bpm
    )

    # 1. native value, method and base confidence of every family on every row
    refs: dict[str, tuple[float, float, bool, float, float]] = {}
    native: list[dict[str, tuple[float, str, str]]] = []
    for i in range(n):
        a = cols["athlete_id"][i]
        dur = cols["duration_s"][i]
        nat: dict[str, tuple[float, str, str]] = {}
        if everyday[i]:
            native.append(nat)
            continue
        pre = cols["load_au"][i]
        if pre is not None and math.isfinite(pre):
            meth = cols["load_method"][i] or "manual"
            fam = METHOD_FAMILY.get(meth)
            if fam is None:
                meth, fam = "manual", "srpe"
            nat[fam] = (float(pre), meth, "high")
        rpe = cols["rpe"][i]
        if "srpe" not in nat and rpe is not None and dur is not None and 0 <= rpe <= 10:
            nat["srpe"] = (rpe * dur / 60.0, "srpe", "high")
        kind = (cols["device_load_kind"][i] or "").lower()
        dl = cols["device_load"][i]
        if dl is not None and math.isfinite(dl) and dl >= 0:
            if kind == "tss" and "tss" not in nat:
                nat["tss"] = (float(dl), "tss", "high")
            elif kind == "epoc" and "epoc" not in nat:
                nat["epoc"] = (float(dl), "epoc", "medium")
        ref = refs.get(a)
        if ref is None:
            rest = _get(hr_rest_bpm, a)
            mx = _get(hr_max_bpm, a)
            ref_default = rest is None or mx is None
            rest = float(rest if rest is not None else default_hr_rest_bpm)
            mx = float(mx if mx is not None else default_hr_max_bpm)
            ref = refs[a] = (rest, mx, ref_default, *_banister_ab(_get(sex, a)))
        rest, mx, ref_default, ca, cb = ref
        if "trimp" not in nat and mx > rest:
            avg = cols["avg_hr_bpm"][i]
            if stream_trimp[i] is not None:
                nat["trimp"] = (stream_trimp[i], "trimp_stream", "medium" if ref_default else "high")
            elif avg is not None and dur is not None and avg > 0:
                # banister_trimp_avg, inlined for speed
                x = (avg - rest) / (mx - rest)
                v = dur / 60.0 * x * ca * math.exp(cb * x) if x > 0 else 0.0
                nat["trimp"] = (v, "trimp_avg", "low" if ref_default else "medium")
        kcal = cols["energy_kcal"][i]
        if "kcal" not in nat and kcal is not None and kcal > 0:
            nat["kcal"] = (float(kcal), "kcal", "medium")
        native.append(nat)

    # 2. per athlete: primary family and conversion factors

    load = [None] * n
    method: list[str | None] = [None] * n
    conf: list[str | None] = [None] * n
    family: list[str | None] = [None] * n
    scale: list[float | None] = [None] * n
    reason: list[str | None] = [None] * n
    for a, all_idx in by_athlete.items():
        idx = [i for i in all_idx if not everyday[i]]
        n_every = len(all_idx) - len(idx)
        every_min = sum((cols["duration_s"][i] or 0.0) for i in all_idx if everyday[i]) / 60.0
        pin = pins.get(a, global_pin) if pins else global_pin
        durs = [d for i in idx if (d := cols["duration_s"][i]) is not None and math.isfinite(d) and d > 0]
        typical = float(np.median(durs)) if durs else 3600.0
        weight = {
            i: (d if (d := cols["duration_s"][i]) is not None and math.isfinite(d) and d > 0 else typical) for i in idx
        }
        total = sum(weight.values())
        share = {f: (sum(weight[i] for i in idx if f in native[i]) / total if total > 0 else 0.0) for f in FAMILIES}
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
        if n_every:
            why += (
                f"; {n_every} device-detected everyday session(s) ({every_min:.0f} min) kept out of the load"
                if not count_everyday
                else ""
            )
        for i in all_idx:
            reason[i] = why
            if everyday[i]:
                family[i] = prim
                method[i] = "everyday"

        def fit(src: str, dst: str, idx: list[int] = idx) -> float | None:  # this athlete's rows, bound now
            """Least squares through the origin: y = k x, k = sum(xy)/sum(x^2)."""
            pairs = [(native[i][src][0], native[i][dst][0]) for i in idx if src in native[i] and dst in native[i]]
            pairs = [(x, y) for x, y in pairs if x > 0]
            if len(pairs) < min_pairs:
                return None
            sxx = sum(x * x for x, _ in pairs)
            return sum(x * y for x, y in pairs) / sxx if sxx > 0 else None

        factors = {f: fit(f, prim) for f in FAMILIES if f != prim}
        rates = [
            native[i][prim][0] / (cols["duration_s"][i] / 60.0)
            for i in idx
            if prim in native[i] and cols["duration_s"][i] and cols["duration_s"][i] > 0
        ]
        rate = float(np.median(rates)) if rates else None
        for i in idx:
            family[i] = prim
            nat = native[i]
            if prim in nat:
                load[i], method[i], conf[i] = nat[prim]
                scale[i] = 1.0
                continue
            done = False
            for f in FAMILIES:
                if f == prim or f not in nat or factors.get(f) is None:
                    continue
                v, m, c = nat[f]
                k = factors[f]
                load[i], method[i], conf[i], scale[i] = v * k, m, "medium" if c == "high" else "low", k
                done = True
                break
            if done:
                continue
            dur = cols["duration_s"][i]
            if dur is None or not math.isfinite(dur) or dur < 0:
                continue
            sport = (cols["sport"][i] or "").lower()
            d_rpe = rpe_by_sport.get(sport, float(default_rpe))
            if prim == "srpe":
                load[i], method[i], conf[i], scale[i] = d_rpe * dur / 60.0, "duration_default_rpe", "low", 1.0
            elif factors.get("srpe") is not None:
                k = factors["srpe"]
                load[i], method[i], conf[i], scale[i] = k * d_rpe * dur / 60.0, "duration_default_rpe", "low", k
            elif rate is not None:
                load[i], method[i], conf[i], scale[i] = rate * dur / 60.0, "duration_rate", "low", rate
    if "recording_repair" in has:
        # a session rebuilt or completed from laps/records (connectors.fit): one step less sure
        for i, rep in enumerate(sessions["recording_repair"].to_list()):
            if rep is not None and conf[i] is not None:
                conf[i] = _lower(conf[i])
    return sessions.with_columns(
        pl.Series("load_au", load, dtype=pl.Float64),
        pl.Series("load_method", method, dtype=pl.String),
        pl.Series("load_confidence", conf, dtype=pl.String),
        pl.Series("load_family", family, dtype=pl.String),
        pl.Series("load_scale", scale, dtype=pl.Float64),
        pl.Series("everyday", everyday, dtype=pl.Boolean),
        pl.Series("load_family_reason", reason, dtype=pl.String),
    )
