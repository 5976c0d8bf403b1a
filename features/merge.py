"""Cross-source de-duplication of sessions and sleep nights.

The same workout often reaches the store several times: the watch's FIT file,
the Garmin Connect export, Strava, Apple Health and WHOOP all describe one run.
Stored rows are never deleted (the store keeps every source); the features
stage calls :func:`merge_duplicate_sessions` and :func:`merge_duplicate_nights`
when it reads the tables, so that each real workout and each night counts once.

Both functions are pure: polars in, polars out, no clock, file or environment.

Matching rule (sessions)
------------------------
Two sessions of the same athlete are the same workout when they come from
**different recordings**: another source, or the same source from another
device (``device_id``, FIT manufacturer and serial; two rows of one source
and one device are two recordings, e.g. a warm-up and a race, and are never
merged), and

* **exact starts**: their starts differ by at most ``max_start_diff_s``
  (default 300 s: vendors round the start differently and some apps start on
  GPS fix) and their durations agree, ``max(d1, d2) / min(d1, d2) <=
  max_duration_ratio`` (default 1.25); when either duration is missing the
  start rule alone decides;
* **approximate start** (``start_precision`` ``"approx"``, or a training-log
  source of :data:`LOG_SOURCES` without a precision): the time intervals
  overlap by at least ``min_overlap_ratio`` (0.5) of the shorter session, the
  log's interval widened ``approx_start_tolerance_s`` (1 h) backwards (a log
  is entered after the session, so its back-computed start is late), the
  durations within ``approx_duration_ratio`` (2) and the sports compatible
  (:func:`sports_compatible`);
* **date only** (``start_precision`` ``"date"``): the log is the only timed
  session of its local day with a compatible sport and a duration within
  ``approx_duration_ratio``, and that session has no other such log
  (one-to-one; ambiguous days are left apart).

Rows are clustered around an anchor: rows are visited from the highest-priority
source to the lowest (then by start time); an unassigned row becomes the anchor
of a new cluster and takes, from every *other* recording, the unassigned row
closest in start time that matches the anchor. Matching is always against the
anchor, never chained, so a cluster cannot drift across a long day of short
sessions.

The kept row is the anchor (the highest-priority source; training logs rank
last, so a device's start, duration and heart rate win). Each field then takes
its best value by its own priority: ``rpe`` from the row ranked first by
:data:`RPE_SOURCE_PRIORITY` (the athlete's log), and when the log's own load
(its RPE x its rounded minutes) was the kept row's load, the load is left to
the load stage, which computes the log's RPE x the device's duration. Other
missing values of the kept row are filled from the dropped rows (highest
priority first) where mixing sources is harmless:
Matching rule (nights)
----------------------
Two sleep records of the same athlete from different sources are the same
sleep when both are main sleeps (``is_nap`` false) ending on the same
``wake_date``, or when their intervals overlap by at least
``min_overlap_ratio`` (default 0.5) of the shorter one. The kept record is the
highest-priority source's; nothing is filled into it, because stage durations
from two devices do not add up to one consistent night.

References
----------
docs/design.md, "Canonical tables" (keys) and "Store" (stored rows are never
deleted; overlapping exports are deduplicated).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from numbers import Real

import polars as pl

from features.schemas import SESSIONS, SLEEP, conform, require

__all__ = [
    "DEFAULT_SESSION_PRIORITY",
    "LOG_SOURCES",
    "RPE_SOURCE_PRIORITY",
    "SESSION_WINDOW_US",
    "sports_compatible",
    "DEFAULT_SLEEP_PRIORITY",
    "MERGE_LOG_SCHEMA",
    "NIGHT_WINDOW_US",
    "source_rank",
    "merge_duplicate_sessions",
    "merge_duplicate_nights",
    "multi_recording_athletes",
    "recording_ident",
]

#: Session source priority, best first. Device files carry the most detail
#: (streams, TSS, training effect); Strava and Apple Health are copies synced
#: from a device; WHOOP sessions are detected automatically and have the
#: loosest start times; training logs (the generic CSV, PMSys) carry the
#: athlete's RPE, typed or back-computed starts and rounded minutes, so they
#: come last, and their RPE is kept by :data:`RPE_SOURCE_PRIORITY`.
DEFAULT_SESSION_PRIORITY: tuple[str, ...] = (
    "fit",
    "garmin",
    "polar",
    "suunto",
    "coros",
    "wahoo",
    "strava",
    "fitbit",
    "oura",
    "apple_health",
    "whoop",
    # training logs last: a device's start, duration and heart rate win; the log's RPE is taken by
    # RPE_SOURCE_PRIORITY whichever row is kept
    "generic_csv",
    "pmsys",
)

#: Training logs: the athlete (or coach) reports the session; its start is typed or back-computed
#: from the time of logging, so it is approximate unless ``start_precision`` says otherwise.
LOG_SOURCES: tuple[str, ...] = ("generic_csv", "pmsys")

#: Field priority where it differs from the source priority: the athlete's RPE comes from the
#: log (the athlete's own report), before a device's value; every other field from the device.
RPE_SOURCE_PRIORITY: tuple[str, ...] = LOG_SOURCES

#: Sports that say nothing about the activity: compatible with any sport.
GENERIC_SPORTS = frozenset(
    {
        "",
        "generic",
        "unknown",
        "training",
        "other",
        "sport",
        "workout",
        "activity",
        "all",
        "multisport",
        "fitness_equipment",
        "aerobic_workout",
    }
)
#: Groups of sport names that one workout may carry in different sources.
SPORT_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"running", "trail_running", "treadmill", "run"}),
    frozenset(
        {
            "cycling",
            "indoor_cycling",
            "virtual_ride",
            "e_biking",
            "mountain_biking",
            "road_biking",
            "ride",
            "biking",
            "spinning",
        }
    ),
    frozenset({"walking", "hiking"}),
    frozenset({"swimming", "lap_swimming", "open_water"}),
    frozenset({"strength", "strength_training", "weights", "weight_training", "weightlifting", "crossfit", "hiit"}),
    frozenset({"soccer", "football", "team_sport", "endurance"}),
)


def sports_compatible(a: str | None, b: str | None) -> bool:
    """Whether two sport names can describe one workout (equal, in one group, or either generic).

    >>> sports_compatible("running", "trail_running"), sports_compatible("soccer", "generic")
    (True, True)
    >>> sports_compatible("running", "strength")
    False
    """
    x = (a or "").strip().lower()
    y = (b or "").strip().lower()
    if x == y or x in GENERIC_SPORTS or y in GENERIC_SPORTS:
        return True
    return any(x in g and y in g for g in SPORT_GROUPS)


#: Sleep source priority, best first: dedicated sleep trackers (ring, strap)
#: before watches, Apple Health last because it aggregates other apps' data.
DEFAULT_SLEEP_PRIORITY: tuple[str, ...] = (
    "oura",
    "whoop",
    "garmin",
    "fit",
    "fitbit",
    "polar",
    "generic_csv",
    "apple_health",
)

#: Start-to-start window in which two sleep records are compared [us]: wide enough for any
#: two main sleeps with the same wake date (36 h). ``pipelines.ingest`` bounds its incremental
#: merge by it.
NIGHT_WINDOW_US = 36 * 3600 * 1_000_000
#: Start-to-start window in which two sessions are compared [us]: a date-only log (start at local
#: midnight) and a device session of the same local day, in any time zone (36 h). ``pipelines.ingest``
#: bounds its incremental merge by it.
SESSION_WINDOW_US = 36 * 3600 * 1_000_000

MERGE_LOG_SCHEMA = pl.Schema(
    {
        "athlete_id": pl.String(),
        "kept_source": pl.String(),
        "kept_start_utc": pl.Datetime("us", "UTC"),
        "kept_source_file": pl.String(),
        "dropped_source": pl.String(),
        "dropped_start_utc": pl.Datetime("us", "UTC"),
        "dropped_source_file": pl.String(),
        "start_diff_s": pl.Float64(),
        "duration_ratio": pl.Float64(),
        "filled": pl.String(),  # kept-row columns filled from this dropped row, ";"-joined
        "reason": pl.String(),
    }
)

_INDEPENDENT_FILL = (
    "rpe",
    "sport",
    "sub_sport",
    "distance_m",
    "avg_hr_bpm",
    "max_hr_bpm",
    "energy_kcal",
    "elapsed_s",
    "local_offset_s",
    "hr_hist_s",
    "training_effect_aerobic",
    "training_effect_anaerobic",
)
_FAMILY_FILL = (
    ("device_load", "device_load_kind"),
    ("load_au", "load_method", "load_confidence"),
)


def source_rank(source: str | None, priority: Sequence[str]) -> int:
    """Position of ``source`` in ``priority`` (0 = best); unknown sources rank last.

    An entry matches a source equal to it or starting with it followed by
    ``_`` (``"garmin"`` matches ``"garmin_connect_csv"``), so a priority list
    can name vendor families.

    >>> source_rank("garmin_connect_csv", ("fit", "garmin", "strava"))
    1
    >>> source_rank("polar", ("fit", "garmin"))
    2
    """
    if source is not None:
        for i, p in enumerate(priority):
            if source == p or source.startswith(p + "_"):
                return i
    return len(priority)


def _validate_priority(priority: Sequence[str]) -> tuple[str, ...]:
    if isinstance(priority, str) or not all(isinstance(p, str) and p for p in priority):
        raise TypeError(f"priority must be a sequence of non-empty source names, got {priority!r}")
    return tuple(priority)


def _validate_positive(name: str, value: object, minimum: float, *, closed: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not (v >= minimum if closed else v > minimum) or v != v or v == float("inf"):
        op = ">=" if closed else ">"
        raise ValueError(f"{name} must be finite and {op} {minimum:g}, got {value!r}")
    return v


def _empty_log() -> pl.DataFrame:
    return pl.DataFrame(schema=MERGE_LOG_SCHEMA)


def recording_ident(columns: Sequence[str], *, by_device: bool) -> pl.Expr:
    """A row's recording, as the merges tell recordings apart: its ``source`` (null as ""), and with
    ``by_device`` (sessions) its ``device_id`` too, ``"source|device"``.

    Rows of one recording are never merged with each other, so an athlete whose rows are all of one
    recording keeps every row unchanged and has nothing in the merge log.
    """
    ident = pl.col("source").fill_null("")
    if by_device:
        dev = pl.col("device_id").fill_null("") if "device_id" in columns else pl.lit("")
        ident = pl.concat_str([ident, dev], separator="|")
    return ident


def multi_recording_athletes(df: pl.DataFrame, *, by_device: bool) -> pl.Series:
    """The athletes of ``df`` with rows of more than one recording (:func:`recording_ident`), sorted."""
    if df.is_empty():
        return pl.Series("athlete_id", [], dtype=pl.String)
    n = df.group_by("athlete_id").agg(recording_ident(df.columns, by_device=by_device).n_unique().alias("n"))
    return n.filter(pl.col("n") > 1)["athlete_id"].sort()


def _split_single(df: pl.DataFrame, *, by_device: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows of athletes with one recording, rows of the others): only the latter can merge.

    The per-row clustering below is Python; skipping the single-recording athletes (most of a team
    with one device each) keeps it off the rows it would return unchanged.
    """
    multi = multi_recording_athletes(df, by_device=by_device)
    if multi.len() == 0:
        return df, df.clear()
    is_multi = pl.col("athlete_id").is_in(multi.implode())
    return df.filter(~is_multi), df.filter(is_multi)


def _cluster(
    starts_us: list[int],
    ranks: list[int],
    sources: list[str],
    match,  # (anchor_idx, candidate_idx) -> bool
    window_us: int,
) -> list[list[int]]:
    """Anchor clustering of one athlete's rows (indices into the lists).

    Rows are visited by (rank, start); an unassigned row anchors a cluster and
    takes, per other source, the closest-start unassigned row that ``match``es.
    """
    n = len(starts_us)
    by_start = sorted(range(n), key=lambda i: (starts_us[i], ranks[i]))
    sorted_starts = [starts_us[i] for i in by_start]
    order = sorted(range(n), key=lambda i: (ranks[i], starts_us[i], sources[i]))
    assigned = [False] * n
    clusters: list[list[int]] = []
    for a in order:
        if assigned[a]:
            continue
        assigned[a] = True
        cluster = [a]
        lo = bisect.bisect_left(sorted_starts, starts_us[a] - window_us)
        hi = bisect.bisect_right(sorted_starts, starts_us[a] + window_us)
        best: dict[str, int] = {}
        for j in by_start[lo:hi]:
            if assigned[j] or sources[j] == sources[a] or not match(a, j):
                continue
            cur = best.get(sources[j])
            if cur is None or abs(starts_us[j] - starts_us[a]) < abs(starts_us[cur] - starts_us[a]):
                best[sources[j]] = j
        for j in sorted(best.values(), key=lambda j: (ranks[j], starts_us[j])):
            assigned[j] = True
            cluster.append(j)
        clusters.append(cluster)
    return clusters


def merge_duplicate_sessions(
    sessions: pl.DataFrame,
    *,
    priority: Sequence[str] = DEFAULT_SESSION_PRIORITY,
    max_start_diff_s: float = 300.0,
    max_duration_ratio: float = 1.25,
    min_overlap_ratio: float = 0.5,
    approx_start_tolerance_s: float = 3600.0,
    approx_duration_ratio: float = 2.0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep one session per real workout when several sources (or devices) recorded it.

    Parameters
    ----------
    sessions : polars.DataFrame
        Canonical ``sessions`` table (:data:`features.schemas.SESSIONS`), any
        number of athletes and sources.
    priority : sequence of str
        Source names, best first (see :func:`source_rank` for prefix
        matching); sources not listed rank after all listed ones. Between
        equally ranked sources (two Garmin exports, two unlisted sources) the
        earlier-starting row is kept, then the source name decides.
        Default :data:`DEFAULT_SESSION_PRIORITY`.
    max_start_diff_s : float
        Largest start-time difference of one workout across sources [s].
        Must be >= 0. Default 300.
    max_duration_ratio : float
        Largest ``longer / shorter`` duration ratio of one workout across
        sources [-]. Must be >= 1. Default 1.25.
    min_overlap_ratio : float
        Overlap rule for a row with an approximate start (a training log):
        the intervals must overlap by at least this share of the shorter
        session [-], in (0, 1]. Default 0.5 ("most of the shorter one").
    approx_start_tolerance_s : float
        How much earlier than written an approximate start may really be [s]:
        a log's interval is widened backwards by this much (it is entered
        after the session). Default 3600.
    approx_duration_ratio : float
        Largest duration ratio for the overlap and date rules [-] (logs round
        minutes). Default 2.0.

    Returns
    -------
    kept : polars.DataFrame
        The ``sessions`` rows that remain (same columns as the input,
        conformed to ``SESSIONS``), sorted by ``athlete_id`` and
        ``start_utc``; each kept row is the highest-priority source's row of
        its workout with missing fields filled as described in the module
        docstring.
    log : polars.DataFrame
        One row per dropped session (:data:`MERGE_LOG_SCHEMA`): athlete_id,
        kept_source, kept_start_utc, kept_source_file, dropped_source,
        dropped_start_utc, dropped_source_file, start_diff_s [s],
        duration_ratio [-] (null when a duration is missing), filled (columns
        of the kept row filled from this row, ``;``-joined) and a
        human-readable reason.

    Raises
    ------
    features.schemas.SchemaError
        When ``sessions`` lacks a required column or has a wrong dtype.
    TypeError, ValueError
        When a parameter is of the wrong type or out of range; the message
        names the parameter, what is allowed and what was given.

    Examples
    --------
    A FIT file and a Strava copy of the same run 40 s apart: the FIT row is
    kept, the athlete's RPE from Strava is filled in.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 5, 1, 6, 0, tzinfo=timezone.utc)
    >>> s = pl.DataFrame({"athlete_id": ["a", "a"], "source": ["strava", "fit"],
    ...     "start_utc": [t.replace(second=40), t], "duration_s": [3000.0, 2990.0],
    ...     "rpe": [6.0, None]})
    >>> kept, log = merge_duplicate_sessions(s)
    >>> kept.select("source", "rpe").rows()
    [('fit', 6.0)]
    >>> log["reason"][0]
    'start 40 s apart, duration ratio 1.003; kept fit (priority 0) over strava (priority 6); rpe from strava'
    """
    priority = _validate_priority(priority)
    window_s = _validate_positive("max_start_diff_s", max_start_diff_s, 0.0, closed=True)
    ratio_max = _validate_positive("max_duration_ratio", max_duration_ratio, 1.0, closed=True)
    df = conform(sessions, SESSIONS)
    require(df, SESSIONS)
    if df.is_empty():
        return df, _empty_log()

    window_us = int(round(window_s * 1e6))
    cols = df.columns
    single, df = _split_single(df, by_device="device_id" in cols)
    kept_rows: list[dict] = []
    log_rows: list[dict] = []
    fill_independent = [c for c in _INDEPENDENT_FILL if c in cols]
    fill_families = [tuple(c for c in fam if c in cols) for fam in _FAMILY_FILL]

    min_ov = _validate_positive("min_overlap_ratio", min_overlap_ratio, 0.0, closed=False)
    if min_ov > 1:
        raise ValueError(f"min_overlap_ratio must be in (0, 1], got {min_overlap_ratio!r}")
    tol_us = int(
        round(_validate_positive("approx_start_tolerance_s", approx_start_tolerance_s, 0.0, closed=True) * 1e6)
    )
    approx_ratio = _validate_positive("approx_duration_ratio", approx_duration_ratio, 1.0, closed=True)
    has_prec = "start_precision" in cols
    has_dev = "device_id" in cols

    # one athlete at a time; a function (not the loop body) so the closures below bind this athlete's rows
    def merge_athlete(athlete: str, part: pl.DataFrame) -> None:
        rows = part.to_dicts()
        starts_us = part["start_utc"].dt.epoch("us").to_list()
        durations = part["duration_s"].to_list()
        sources = [r["source"] or "" for r in rows]
        # a recording is a source and a device: two devices of one source are two recordings
        idents = [f"{sources[i]}|{(rows[i].get('device_id') or '') if has_dev else ''}" for i in range(len(rows))]
        ranks = [source_rank(s, priority) for s in sources]
        prec = []
        for i, r in enumerate(rows):
            p = (r.get("start_precision") if has_prec else None) or (
                "approx" if source_rank(sources[i], LOG_SOURCES) < len(LOG_SOURCES) else "exact"
            )
            prec.append(p)
        spans = [
            max(d for d in (durations[i], rows[i].get("elapsed_s")) if d is not None)
            if durations[i] is not None or rows[i].get("elapsed_s") is not None
            else None
            for i in range(len(rows))
        ]
        how: dict[tuple[int, int], str] = {}

        def ratio(i: int, j: int) -> float | None:
            a, b = durations[i], durations[j]
            if a is None or b is None or a <= 0 or b <= 0:
                return None
            return max(a, b) / min(a, b)

        # date-only rows: one-to-one pairs with a timed row of the same local day (unambiguous only)
        date_pairs: set[tuple[int, int]] = set()
        dated = [i for i in range(len(rows)) if prec[i] == "date"]
        if dated:

            def date_ok(i: int, j: int) -> bool:
                r = ratio(i, j)
                return (
                    prec[j] != "date"
                    and idents[j] != idents[i]
                    and rows[i].get("local_date") is not None
                    and rows[i]["local_date"] == rows[j].get("local_date")
                    and sports_compatible(rows[i].get("sport"), rows[j].get("sport"))
                    and r is not None
                    and r <= approx_ratio + 1e-12
                )

            cand = {i: [j for j in range(len(rows)) if date_ok(i, j)] for i in dated}
            back: dict[int, list[int]] = {}
            for i, js in cand.items():
                for j in js:
                    back.setdefault(j, []).append(i)
            for i, js in cand.items():
                if len(js) == 1 and len(back[js[0]]) == 1:
                    date_pairs.add((i, js[0]))
                    date_pairs.add((js[0], i))

        def overlap(i: int, j: int) -> float | None:
            """Overlap of the two intervals as a share of the shorter session (approx starts widened)."""
            if spans[i] is None or spans[j] is None or min(spans[i], spans[j]) <= 0:
                return None
            lo_i = starts_us[i] - (tol_us if prec[i] == "approx" else 0)
            lo_j = starts_us[j] - (tol_us if prec[j] == "approx" else 0)
            hi_i = starts_us[i] + int(spans[i] * 1e6)
            hi_j = starts_us[j] + int(spans[j] * 1e6)
            ov = min(hi_i, hi_j) - max(lo_i, lo_j)
            return max(ov, 0) / (min(spans[i], spans[j]) * 1e6)

        def match(i: int, j: int) -> bool:
            if starts_us[i] is None or starts_us[j] is None or idents[i] == idents[j]:
                return False
            if prec[i] == "date" or prec[j] == "date":
                if (i, j) in date_pairs:
                    how[(i, j)] = how[(j, i)] = "date"
                    return True
                return False
            r = ratio(i, j)
            if abs(starts_us[i] - starts_us[j]) <= window_us and (r is None or r <= ratio_max + 1e-12):
                how[(i, j)] = how[(j, i)] = "start"
                return True
            if "approx" in (prec[i], prec[j]):
                ov = overlap(i, j)
                if (
                    ov is not None
                    and ov >= min_ov - 1e-12
                    and r is not None
                    and r <= approx_ratio + 1e-12
                    and sports_compatible(rows[i].get("sport"), rows[j].get("sport"))
                ):
                    how[(i, j)] = how[(j, i)] = "overlap"
                    return True
            return False

        valid = [i for i in range(len(rows)) if starts_us[i] is not None]
        longest = max((x for x in spans if x is not None), default=0.0)
        win = max(window_us, int(longest * 1e6) + tol_us, SESSION_WINDOW_US if dated else 0)
        clusters = _cluster(
            [starts_us[i] for i in valid],
            [ranks[i] for i in valid],
            [idents[i] for i in valid],
            lambda a, b: match(valid[a], valid[b]),
            win,
        )
        clusters = [[valid[i] for i in c] for c in clusters]
        clusters += [[i] for i in range(len(rows)) if starts_us[i] is None]
        for cluster in clusters:
            anchor = rows[cluster[0]]
            kept = dict(anchor)
            filled_by: dict[int, list[str]] = {j: [] for j in cluster[1:]}
            # RPE by its own priority: the athlete's log first (RPE_SOURCE_PRIORITY), then the others
            rpe_from = None
            if "rpe" in cols:
                with_rpe = [j for j in cluster if rows[j].get("rpe") is not None]
                if with_rpe:
                    best = min(with_rpe, key=lambda j: (source_rank(sources[j], RPE_SOURCE_PRIORITY), ranks[j]))
                    if best != cluster[0]:
                        rpe_from = best
                        kept["rpe"] = rows[best]["rpe"]
                        filled_by[best].append("rpe")
            for j in cluster[1:]:
                other = rows[j]
                for c in fill_independent:
                    if c == "rpe":
                        continue
                    if kept.get(c) is None and other.get(c) is not None:
                        kept[c] = other[c]
                        filled_by[j].append(c)
                for fam in fill_families:
                    if fam and all(kept.get(c) is None for c in fam) and other.get(fam[0]) is not None:
                        for c in fam:
                            kept[c] = other.get(c)
                        filled_by[j].extend(fam)
            if (
                rpe_from is not None
                and "load_au" in filled_by[rpe_from]
                and kept.get("load_method") == "srpe"
                and kept.get("duration_s") is not None
            ):
                # the log's load is its RPE x its own (rounded, back-computed) minutes: leave the load to
                # the load stage, which takes the log's RPE x the device's duration
                for c in ("load_au", "load_method", "load_confidence"):
                    if c in kept:
                        kept[c] = None
                filled_by[rpe_from] = [
                    c for c in filled_by[rpe_from] if c not in ("load_au", "load_method", "load_confidence")
                ]
                filled_by[rpe_from].append("load from rpe x device duration")
            kept_rows.append(kept)
            a = cluster[0]
            for j in cluster[1:]:
                diff_s = abs(starts_us[j] - starts_us[a]) / 1e6
                r = ratio(a, j)
                rtxt = f"duration ratio {r:.3f}" if r is not None else "duration unknown"
                rule = how.get((a, j), "start")
                dev = ""
                if sources[a] == sources[j]:
                    dev = f"; same source, two devices ({rows[a].get('device_id')} and {rows[j].get('device_id')})"
                if rule == "overlap":
                    ov = overlap(a, j)
                    why = (
                        f"intervals overlap {100 * ov:.0f}% of the shorter session (start "
                        f"{'approximate' if prec[j] == 'approx' else 'exact'} for {sources[j]}, "
                        f"{'approximate' if prec[a] == 'approx' else 'exact'} for {sources[a]}), {rtxt}, "
                        f"sports {rows[a].get('sport')}/{rows[j].get('sport')}"
                    )
                elif rule == "date":
                    why = (
                        f"{sources[j] if prec[j] == 'date' else sources[a]} gives only the date: the one "
                        f"session of {rows[a].get('local_date')} with a compatible sport "
                        f"({rows[a].get('sport')}/{rows[j].get('sport')}) and {rtxt}"
                    )
                else:
                    why = f"start {diff_s:g} s apart, {rtxt}"
                rpe_txt = f"; rpe from {sources[rpe_from]}" if rpe_from is not None and rpe_from == j else ""
                reason = (
                    f"{why}{dev}; kept {sources[a]} (priority {ranks[a]}) "
                    f"over {sources[j]} (priority {ranks[j]}){rpe_txt}"
                )
                log_rows.append(
                    {
                        "athlete_id": athlete,
                        "kept_source": anchor["source"],
                        "kept_start_utc": anchor["start_utc"],
                        "kept_source_file": anchor["source_file"],
                        "dropped_source": rows[j]["source"],
                        "dropped_start_utc": rows[j]["start_utc"],
                        "dropped_source_file": rows[j]["source_file"],
                        "start_diff_s": diff_s,
                        "duration_ratio": r,
                        "filled": ";".join(filled_by[j]) or None,
                        "reason": reason,
                    }
                )

    for (athlete,), part in df.sort("start_utc").partition_by("athlete_id", as_dict=True, maintain_order=True).items():
        merge_athlete(athlete, part)

    kept_df = pl.DataFrame(kept_rows, schema=df.schema, orient="row") if kept_rows else df.clear()
    if single.height:
        kept_df = pl.concat([single, kept_df], how="vertical")
    kept_df = kept_df.sort(["athlete_id", "start_utc", "source"], nulls_last=True)
    log = pl.DataFrame(log_rows, schema=MERGE_LOG_SCHEMA, orient="row") if log_rows else _empty_log()
    return kept_df, log.sort(["athlete_id", "kept_start_utc", "dropped_source"])


def merge_duplicate_nights(
    sleep: pl.DataFrame,
    *,
    priority: Sequence[str] = DEFAULT_SLEEP_PRIORITY,
    min_overlap_ratio: float = 0.5,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep one sleep record per real sleep when several sources recorded it.

    Parameters
    ----------
    sleep : polars.DataFrame
        Canonical ``sleep`` table (:data:`features.schemas.SLEEP`).
    priority : sequence of str
        Source names, best first; unknown sources rank last. Default
        :data:`DEFAULT_SLEEP_PRIORITY`.
    min_overlap_ratio : float
        Two records overlapping by at least this share of the shorter one are
        the same sleep [-], in (0, 1]. Default 0.5. Main sleeps (not naps)
        with the same ``wake_date`` always match.

    Returns
    -------
    kept : polars.DataFrame
        Remaining ``sleep`` rows, sorted by ``athlete_id`` and ``start_utc``.
    log : polars.DataFrame
        One row per dropped record (:data:`MERGE_LOG_SCHEMA`); for sleep
        ``start_diff_s`` is the start difference [s], ``duration_ratio`` the
        ratio of the (end - start) spans and ``filled`` is always null.

    Examples
    --------
    >>> from datetime import date, datetime, timezone
    >>> u = lambda h, m=0: datetime(2024, 5, 2, h, m, tzinfo=timezone.utc)
    >>> s = pl.DataFrame({"athlete_id": ["a", "a"], "source": ["apple_health", "oura"],
    ...     "start_utc": [datetime(2024, 5, 1, 22, 10, tzinfo=timezone.utc),
    ...                   datetime(2024, 5, 1, 22, 0, tzinfo=timezone.utc)],
    ...     "end_utc": [u(6), u(6, 5)], "wake_date": [date(2024, 5, 2)] * 2,
    ...     "is_nap": [False, False]})
    >>> kept, log = merge_duplicate_nights(s)
    >>> kept["source"].to_list(), log["dropped_source"].to_list()
    (['oura'], ['apple_health'])
    """
    priority = _validate_priority(priority)
    min_ov = _validate_positive("min_overlap_ratio", min_overlap_ratio, 0.0, closed=False)
    if min_ov > 1:
        raise ValueError(f"min_overlap_ratio must be in (0, 1], got {min_overlap_ratio!r}")
    df = conform(sleep, SLEEP)
    if df.is_empty():
        return df, _empty_log()

    kept_rows: list[dict] = []
    log_rows: list[dict] = []
    window_us = NIGHT_WINDOW_US
    single, df = _split_single(df, by_device=False)

    # one athlete at a time; a function (not the loop body) so match() binds this athlete's rows
    def merge_athlete(athlete: str, part: pl.DataFrame) -> None:
        rows = part.to_dicts()
        starts = part["start_utc"].dt.epoch("us").to_list()
        ends = part["end_utc"].dt.epoch("us").to_list()
        sources = [r["source"] or "" for r in rows]
        ranks = [source_rank(s, priority) for s in sources]

        def match(i: int, j: int) -> bool:
            ri, rj = rows[i], rows[j]
            if (
                ri["is_nap"] is False
                and rj["is_nap"] is False
                and ri["wake_date"] is not None
                and ri["wake_date"] == rj["wake_date"]
            ):
                return True
            if None in (starts[i], starts[j], ends[i], ends[j]):
                return False
            ov = min(ends[i], ends[j]) - max(starts[i], starts[j])
            shorter = min(ends[i] - starts[i], ends[j] - starts[j])
            return ov > 0 and shorter > 0 and ov >= min_ov * shorter

        valid = [i for i in range(len(rows)) if starts[i] is not None]
        clusters = _cluster(
            [starts[i] for i in valid],
            [ranks[i] for i in valid],
            [sources[i] for i in valid],
            lambda a, b: match(valid[a], valid[b]),
            window_us,
        )
        clusters = [[valid[i] for i in c] for c in clusters]
        clusters += [[i] for i in range(len(rows)) if starts[i] is None]
        for cluster in clusters:
            a = cluster[0]
            kept_rows.append(rows[a])
            for j in cluster[1:]:
                diff_s = abs(starts[j] - starts[a]) / 1e6
                span_a = (ends[a] - starts[a]) if ends[a] is not None else None
                span_j = (ends[j] - starts[j]) if ends[j] is not None else None
                r = (
                    (max(span_a, span_j) / min(span_a, span_j))
                    if span_a and span_j and min(span_a, span_j) > 0
                    else None
                )
                same_night = (
                    rows[a]["is_nap"] is False
                    and rows[j]["is_nap"] is False
                    and rows[a]["wake_date"] == rows[j]["wake_date"]
                )
                why = f"main sleep ending {rows[a]['wake_date']}" if same_night else "overlapping sleep"
                log_rows.append(
                    {
                        "athlete_id": athlete,
                        "kept_source": rows[a]["source"],
                        "kept_start_utc": rows[a]["start_utc"],
                        "kept_source_file": rows[a]["source_file"],
                        "dropped_source": rows[j]["source"],
                        "dropped_start_utc": rows[j]["start_utc"],
                        "dropped_source_file": rows[j]["source_file"],
                        "start_diff_s": diff_s,
                        "duration_ratio": r,
                        "filled": None,
                        "reason": (
                            f"{why}; kept {sources[a]} (priority {ranks[a]}) over {sources[j]} (priority {ranks[j]})"
                        ),
                    }
                )

    for (athlete,), part in df.sort("start_utc").partition_by("athlete_id", as_dict=True, maintain_order=True).items():
        merge_athlete(athlete, part)

    kept_df = pl.DataFrame(kept_rows, schema=df.schema, orient="row") if kept_rows else df.clear()
    if single.height:
        kept_df = pl.concat([single, kept_df], how="vertical")
    kept_df = kept_df.sort(["athlete_id", "start_utc", "source"], nulls_last=True)
    log = pl.DataFrame(log_rows, schema=MERGE_LOG_SCHEMA, orient="row") if log_rows else _empty_log()
    return kept_df, log.sort(["athlete_id", "kept_start_utc", "dropped_source"])
