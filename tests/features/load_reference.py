"""The per-row session-load chain and HR references as they were before they became columnar: test oracles.

Verbatim copies of ``features.load.assign_session_loads`` (a loop over rows building dicts) and
``features.load.hr_reference_from_history`` (a loop over athletes) at the commit before issue 19's
load follow-up, kept only so that ``tests/features/test_load_columnar.py`` can compare every
output column of the columnar implementations with them bit for bit. Not used by the package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Literal

import numpy as np
import polars as pl

from features.load import (
    DEFAULT_HR_MAX_BPM,
    DEFAULT_HR_REST_BPM,
    DEFAULT_RPE,
    DEFAULT_SPORT_RPE,
    EVERYDAY_SPORTS,
    FAMILIES,
    METHOD_FAMILY,
    PLAUSIBLE_HR_MAX_BPM,
    _banister_ab,
    _get,
    _lower,
    _stream_trimps,
    _window_start,
)
from features.schemas import SESSIONS, WELLNESS, require


def assign_session_loads_reference(
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


def hr_reference_from_history_reference(
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
