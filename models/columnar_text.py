"""The text columns of SCORES, columnar: ``components_json``, ``adjustments``, ``adjustments_json`` (issue 19).

:func:`render_texts` builds, for every row of the wide frame of
:func:`models.columnar._numbers_between` (the day-d inputs, the d-1 ``l_*``
row, the d-8 load, the points, ``has``/``applicable``, streaks and red-flag
days), the three text columns that :func:`models.rules.score_features` writes
per row with :meth:`Component.as_json`, :func:`models.adjustments.recommend`
and ``json.dumps(..., separators=(",", ":"))``: same keys in the same order,
same sentences, same numbers. Everything is a polars string expression over
the whole frame; Python runs only for the parameters (once), the distinct
load families, and the few values whose decimal rounding is a near tie.

Numbers as Python prints them
-----------------------------
Three formats appear: ``f"{x:.Nf}"`` (the advice sentences),
``models.rules._fmt(x, N)`` (the same with trailing zeros dropped, the rule
texts) and ``json.dumps(round(x, N))`` (JSON values). Python rounds the exact
binary value to N decimals (half to even on exact ties); :func:`_scaled`
computes the same integer ``k = x * 10**N`` rounded, in floats, for every value
whose ``x * 10**N`` is not within ``1e-12 * |x * 10**N|`` of a half (the
product's rounding error is below ``1.2e-16`` of it, so the nearest integer is
the one Python finds). Near ties, non-finite values and ``|x * 10**N| >= 1e12``
are formatted by Python itself, once per distinct value. ``round(x, N)`` as a
JSON number is ``k / 10**N`` printed with its decimals: the division is
correctly rounded, so it is the double ``round`` returns, and a decimal of at
most 15 significant digits is exactly its shortest repr.

The per-row scorer stays the oracle: ``tests/models/test_columnar.py`` checks
every stored column, these three included, bit for bit with hypothesis. Any
change of wording in :mod:`models.rules`, :mod:`models.adjustments` or
:mod:`models.vocab` must be made here too (the test fails until it is). A risk
indicator, not a diagnosis.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from models.columnar import weekly_jump_before_rebound, weekly_jump_rebound
from models.components import NAMES, REGISTRY, ComponentSpec
from models.params import ScorerParams
from models.rules import IDLE_WHY, _fmt
from models.vocab import ADJUSTMENT_GENERIC, ADJUSTMENT_TEXT, RED_FLAG_TEXT

__all__ = ["render_texts", "TEXT_COLUMNS"]

TEXT_COLUMNS = ("adjustments", "components_json", "adjustments_json")

_TIE_REL = 1e-12  # a value this close (relative) to a rounding tie is formatted by Python


# ---------------------------------------------------------------- numbers
#: how a value is printed: Python's own function for each kind (the oracle, and the near-tie fallback)
_PY: dict[str, Callable[[float, int], object]] = {
    "fmt": lambda v, nd: _fmt(v, nd),
    "fixed": lambda v, nd: f"{v:.{nd}f}",
    "json": lambda v, nd: json.dumps(round(v, nd)),
    "round": lambda v, nd: round(v, nd),
}


def number_expr(x: pl.Expr, nd: int, kind: str) -> tuple[pl.Expr, pl.Expr]:
    """(value, python): ``x`` printed (or rounded) as Python would, and where Python must do it.

    ``kind``: ``fmt`` = ``models.rules._fmt(x, nd)``; ``fixed`` = ``f"{x:.{nd}f}"``;
    ``json`` = ``json.dumps(round(x, nd))`` (``"null"`` for null); ``round`` = ``round(x, nd)``
    (Float64). ``python`` is True where the value is a near tie, not finite or too large: those rows
    must be replaced by :data:`_PY` ``[kind]`` of the value (:func:`_patch`).
    """
    y = x * float(10**nd)
    fl = y.floor()
    frac = y - fl
    # near a tie (also every |y| >= 1 / _TIE_REL: the bound exceeds 0.5) or not finite: Python prints these
    python = (((frac - 0.5).abs() <= _TIE_REL * y.abs().clip(1.0, None)) | ~y.is_finite()).fill_null(False)
    k = pl.when(frac > 0.5).then(fl + 1.0).otherwise(fl).abs()  # |x| * 10**nd rounded
    # k / 10**nd correctly rounded: polars divides by a scalar as a product with its reciprocal
    # (73 / 10 -> 7.300000000000001), so divide by a column holding 10**nd (k is finite here)
    v = k / (k * 0.0 + float(10**nd))
    # the sign goes on the number before it is printed (cheaper than a string concat); the shortest
    # repr of k / 10**nd is its decimal with at least one digit after "." ("12.5", "3.0", "-0.0")
    negative = (x < 0) | ((x == 0) & ((1.0 / x) < 0))  # -0.0 included: Python prints its sign
    signed = pl.when(negative).then(-v).otherwise(v)
    if kind == "round":
        return signed, python
    if kind == "json":
        return signed.cast(pl.String).fill_null("null"), python
    if kind == "fmt":  # _fmt drops the sign of a zero
        return pl.when((x < 0) & (k != 0)).then(-v).otherwise(v).cast(pl.String).str.strip_suffix(".0"), python
    if kind == "fixed":
        body = signed.cast(pl.String)
        if nd == 0:
            return body.str.strip_suffix(".0"), python
        if nd == 1:
            return body, python
        if nd == 2:
            return pl.when(k % 10 == 0).then(body + pl.lit("0")).otherwise(body), python
        # the shortest repr has 1..nd decimals (k / 10**nd, |k| < 1e12): pad with zeros to nd
        return (body + pl.lit("0" * nd)).str.slice(0, body.str.find(".", literal=True) + nd + 1), python
    raise ValueError(f"unknown number kind {kind!r}")


@lru_cache(maxsize=64)
def _kind_exprs(nd: int, kind: str) -> tuple[pl.Expr, pl.Expr]:
    v, py = number_expr(pl.col("x"), nd, kind)
    return v.alias("v"), py.alias("py")


#: frames with fewer rows print their numbers stacked (:func:`_patch`)
STACK_ROWS = 20_000


def _patch(df: pl.DataFrame, specs: list[tuple[str, str, int, str]], *, stack: bool | None = None) -> pl.DataFrame:
    """Add the columns ``out = src printed as kind with nd decimals`` for every spec, Python's own
    printing on the rows :func:`number_expr` flags (once per distinct value).

    A large frame prints one expression per spec (polars runs them in parallel). A small one
    (``stack``, default: fewer than :data:`STACK_ROWS` rows) stacks the sources of one (nd, kind)
    into one long column, prints it with one expression and cuts it back into columns: a few
    expressions instead of one per spec, whose fixed cost is what a nightly run of a few hundred
    rows pays."""
    if not (df.height < STACK_ROWS if stack is None else stack):
        return _patch_columns(df, specs)
    n = df.height
    groups: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for out, src, nd, kind in specs:
        groups.setdefault((nd, kind), []).append((out, src))
    new = []
    for (nd, kind), cols in groups.items():
        x = pl.concat([df[src].cast(pl.Float64) for _, src in cols]).rechunk()
        res = pl.DataFrame({"x": x}).select(*_kind_exprs(nd, kind))
        v, py = res["v"], res["py"]
        if py.any():
            vals = x.filter(py)
            u = vals.unique()
            fn = _PY[kind]
            rep = pl.Series([fn(float(z), nd) for z in u.to_list()], dtype=v.dtype)
            v = v.scatter(py.arg_true(), vals.replace_strict(u, rep, return_dtype=v.dtype))
        new += [v.slice(i * n, n).alias(out) for i, (out, _) in enumerate(cols)]
    return df.with_columns(new)


@lru_cache(maxsize=64)
def _patch_exprs(specs: tuple[tuple[str, str, int, str], ...]) -> tuple[list[pl.Expr], list[pl.Expr]]:
    exprs, masks = [], []
    for out, src, nd, kind in specs:
        v, py = number_expr(pl.col(src), nd, kind)
        exprs += [v.alias(out), py.alias(f"_py_{out}")]
        masks.append(pl.col(f"_py_{out}").any())
    return exprs, masks


def _patch_columns(df: pl.DataFrame, specs: list[tuple[str, str, int, str]]) -> pl.DataFrame:
    """:func:`_patch` with one expression per spec."""
    exprs, masks = _patch_exprs(tuple(specs))
    df = df.with_columns(exprs)
    fixes = []
    for (out, src, nd, kind), needed in zip(specs, df.select(masks).row(0), strict=True):
        if not needed:
            continue
        mask = df[f"_py_{out}"]
        vals = df[src].filter(mask)
        u = vals.unique()
        fn = _PY[kind]
        rep = pl.Series([fn(float(x), nd) for x in u.to_list()], dtype=df.schema[out])
        fixes.append(df[out].scatter(mask.arg_true(), vals.replace_strict(u, rep, return_dtype=df.schema[out])))
    return df.with_columns(fixes).drop([f"_py_{out}" for out, *_ in specs])


def printed(x: pl.Series, nd: int, kind: str, *, stack: bool | None = None) -> pl.Series:
    """:func:`number_expr` on a Series, near ties by Python (the helpers' test entry point)."""
    df = pl.DataFrame({"x": x.cast(pl.Float64)})
    return _patch(df, [("out", "x", nd, kind)], stack=stack)["out"]


def _round_int(x: pl.Expr) -> pl.Expr:
    """``round(x)`` (Python: half to even on the exact value) as Int64 (null when not finite)."""
    fl = x.floor()
    d = x - fl
    up = (d > 0.5) | ((d == 0.5) & ((fl % 2.0) != 0.0))
    return pl.when(up).then(fl + 1.0).otherwise(fl).cast(pl.Int64, strict=False)


def _j(s: str) -> str:
    """``s`` as it stands inside a JSON string."""
    return json.dumps(s)[1:-1]


def _jf(v: float) -> str:
    """A parameter as ``json.dumps`` prints it."""
    return json.dumps(v)


# ---------------------------------------------------------------- components
def _f(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64).fill_nan(None)


def _cat(*parts: pl.Expr | str) -> pl.Expr:
    return pl.concat_str([pl.lit(x) if isinstance(x, str) else x for x in parts])


def _no_data(what: str) -> str:
    return _j(f"no data ({what})")


#: the rule text of an applicable load component in a week with nothing recorded (models.rules.score_day)
_IDLE_RULE = _no_data(IDLE_WHY)
_NULL = pl.lit("null")
S = pl.col  # the formatted columns _prepare makes: s_<col>_f<nd> (models.rules._fmt), j_<col> (JSON)


def _tiers(*steps: tuple[pl.Expr, str], last: str) -> pl.Expr:
    """The threshold phrase of a rule: the text of the first step whose condition holds, else ``last``."""
    (cond, text), *rest = steps
    e = pl.when(cond).then(pl.lit(text))
    for cond, text in rest:
        e = e.when(cond).then(pl.lit(text))
    return e.otherwise(pl.lit(last))


def _sfx(name: str) -> pl.Expr:
    """``": +<points>"``, the end of every rule that fired or not (``models.rules._with_rule``)."""
    return pl.concat_str([pl.lit(": +"), S(f"s_pts_{name}")])


def _measured(name: str, x: pl.Expr, needs: str, *text: pl.Expr | str) -> pl.Expr:
    """The rule of a component that compares one value ``x`` with thresholds: ``no data (needs)``
    where it is null, else ``text`` and the points (``label value threshold-phrase: +points``)."""
    return pl.when(x.is_null()).then(pl.lit(_no_data(needs))).otherwise(_cat(*text, _sfx(name)))


#: name -> (value, rule, detail) expressions of that component's JSON object, for parameters p
_Texts = Callable[[ScorerParams], tuple[pl.Expr, pl.Expr, pl.Expr | None]]
_TEXTS: dict[str, _Texts] = {}


def _texts(fn: _Texts) -> _Texts:
    """Register the text expressions of the registry component named like ``fn`` (models.rules' ``@_points``)."""
    _TEXTS[fn.__name__] = fn
    return fn


@_texts
def load_spike(p: ScorerParams) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    x = _f("l_acwr_ewma")
    a, d = p.acwr_spike_start, p.acwr_danger
    rule = _measured(
        "load_spike",
        x,
        "EWMA ACWR needs 28 days of load history",
        "ACWR(EWMA) ",
        S("s_l_acwr_ewma_f2"),
        _tiers((x <= a, f" <= {_fmt(a)}"), (x <= d, f" > {_fmt(a)}"), last=f" > {_fmt(d)}"),
    )
    return S("j_l_acwr_ewma"), rule, None


@_texts
def weekly_jump(p: ScorerParams) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    x = _f("l_weekly_change_pct")
    acute, before, chronic = _f("l_acute_7d_au"), _f("w_acute_7d_au"), _f("l_chronic_28d_au")
    lo, hi = p.weekly_jump_start_pct, p.weekly_jump_high_pct
    base = _cat(
        "weekly change ",
        S("s_l_weekly_change_pct_f0"),
        _tiers((x <= lo, f" % <= {_fmt(lo)} %"), (x <= hi, f" % > {_fmt(lo)} %"), last=f" % > {_fmt(hi)} %"),
    )
    if p.weekly_jump_min_ratio > 0:
        rebound = weekly_jump_rebound(weekly_jump_before_rebound(x, p), acute, chronic, p).fill_null(False)
        base = (
            pl.when(rebound)
            .then(
                _cat(
                    base,
                    ", but this week's ",
                    S("s_l_acute_7d_au_f0"),
                    f" AU is not above {_fmt(p.weekly_jump_min_ratio)} x the 4-week average ",
                    S("s_l_chronic_28d_au_f0"),
                    " AU",
                )
            )
            .otherwise(base)
        )
    empty_before = (x.is_null() & acute.is_not_null() & before.is_not_null() & (before == 0.0)).fill_null(False)
    after_none = empty_before & (acute > 0).fill_null(False)
    rule = (
        pl.when(x.is_not_null())
        .then(_cat(base, _sfx("weekly_jump")))
        .when(after_none)
        .then(_cat("7-d load ", S("s_l_acute_7d_au_f0"), " AU after a week with none", _sfx("weekly_jump")))
        .when(empty_before)
        .then(_cat("no load this week or last", _sfx("weekly_jump")))
        .otherwise(pl.lit(_no_data("needs the 7-d load of the week before")))
    )
    value = (
        pl.when(x.is_not_null())
        .then(S("j_l_weekly_change_pct"))
        .when(empty_before & ~after_none)
        .then(pl.lit("0.0"))
        .otherwise(_NULL)
    )
    return value, rule, None


@_texts
def monotony(p: ScorerParams) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    x = _f("l_monotony")
    strain, p90 = _f("l_strain_au"), _f("l_strain_p90_au")
    hi, flag = p.monotony_high, p.monotony_flag
    rule = (
        pl.when(x.is_null() & (_f("l_acute_7d_au") == 0.0).fill_null(False))
        .then(_cat("no load in 7 days", _sfx("monotony")))
        .otherwise(
            _measured(
                "monotony",
                x,
                "needs 7 days of load",
                "monotony ",
                S("s_l_monotony_f2"),
                _tiers((x > hi, f" > {_fmt(hi)}"), (x > flag, f" > {_fmt(flag)}"), last=f" <= {_fmt(flag)}"),
                pl.when((strain > p90).fill_null(False))
                .then(_cat("; strain ", S("s_l_strain_au_f0"), " > own P90 ", S("s_l_strain_p90_au_f0")))
                .otherwise(pl.lit("")),
            )
        )
    )
    return S("j_l_monotony"), rule, None


@_texts
def hard_day_streak(p: ScorerParams) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    x = pl.col("l_hard_day_streak")
    n = x.cast(pl.Int64).cast(pl.String)
    rule = (
        pl.when(x.is_null())
        .then(pl.lit(_no_data("needs load and CTL")))
        .when(x >= p.hard_day_min_streak)
        .then(_cat(n, f" hard days in a row >= {p.hard_day_min_streak}", _sfx("hard_day_streak")))
        .otherwise(
            _cat(
                n,
                pl.when(x == 1).then(pl.lit(" hard day")).otherwise(pl.lit(" hard days")),
                f" in a row < {p.hard_day_min_streak}",
                _sfx("hard_day_streak"),
            )
        )
    )
    return S("j_l_hard_day_streak"), rule, None


@_texts
def ctl_ramp(p: ScorerParams) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    x = _f("l_ctl_ramp_7d")
    appl = pl.col("appl_ctl_ramp")
    hi, mild = p.ctl_ramp_high, p.ctl_ramp_mild
    rule = (
        pl.when(~appl)
        .then(_cat("not applicable: load family ", S("s_family"), " is not TSS-like"))
        .otherwise(
            _measured(
                "ctl_ramp",
                x,
                "needs 7 days of CTL",
                "CTL ramp ",
                S("s_l_ctl_ramp_7d_f1"),
                _tiers((x > hi, f"/wk > {_fmt(hi)}"), (x > mild, f"/wk > {_fmt(mild)}"), last=f"/wk <= {_fmt(mild)}"),
            )
        )
    )
    return pl.when(appl).then(S("j_l_ctl_ramp_7d")).otherwise(_NULL), rule, None


@_texts
def hrv(p: ScorerParams) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    x = _f("hrv_z")
    strong, low = p.hrv_strong_z, p.hrv_suppressed_z
    rule = _measured(
        "hrv",
        x,
        "needs >= 3 HRV values this week and 14 in the baseline",
        "HRV z ",
        S("s_hrv_z_f2"),
        _tiers((x < strong, f" < {_fmt(strong)}"), (x < low, f" < {_fmt(low)}"), last=f" >= {_fmt(low)}"),
    )
    return S("j_hrv_z"), rule, None


@_texts
def rhr(p: ScorerParams) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    d, z = _f("rhr_delta_bpm"), _f("rhr_z")
    desc = pl.concat_str(
        [
            pl.when(d >= 0)
            .then(_cat("+", S("s_rhr_delta_bpm_f1"), " bpm"))
            .otherwise(_cat(S("s_rhr_delta_bpm_f1"), " bpm")),
            _cat("z ", S("s_rhr_z_f2")),
        ],
        separator=", ",
        ignore_nulls=True,
    )
    flag = (d >= p.rhr_flag_bpm).fill_null(False) | (z >= p.rhr_flag_z).fill_null(False)
    mild = (d >= p.rhr_mild_bpm).fill_null(False) | (z >= p.rhr_mild_z).fill_null(False)
    rule = _measured(
        "rhr",
        pl.coalesce(d, z),
        "needs >= 3 RHR values this week and 14 in the baseline",
        "RHR ",
        desc,
        _tiers(
            (flag, f" >= +{_fmt(p.rhr_flag_bpm)} bpm or z {_fmt(p.rhr_flag_z)}"),
            (mild, f" >= +{_fmt(p.rhr_mild_bpm)} bpm or z {_fmt(p.rhr_mild_z)}"),
            last=f" below +{_fmt(p.rhr_mild_bpm)} bpm and z {_fmt(p.rhr_mild_z)}",
        ),
    )
    return pl.when(d.is_not_null()).then(S("j_rhr_delta_bpm")).otherwise(S("j_rhr_z")), rule, None


@_texts
def sleep(p: ScorerParams) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    mean, usual = _f("sleep_7d_h"), _f("sleep_baseline_h")
    debt, eff = _f("sleep_debt_7d_h"), _f("sleep_eff_7d_pct")
    deficit = 7.0 * (usual - mean)
    text = _cat("7-d sleep ", S("s_sleep_7d_h_f1"), " h vs usual ", S("s_sleep_baseline_h_f1"), " h")
    parts = [
        pl.when(usual.is_null())
        .then(_cat("7-d sleep ", S("s_sleep_7d_h_f1"), " h (no usual sleep yet: needs 14 nights)"))
        .when(deficit > p.sleep_debt_severe_h)
        .then(_cat(text, ": deficit ", S("s_deficit_f1"), f" h > {_fmt(p.sleep_debt_severe_h, 1)} h"))
        .when(deficit > p.sleep_debt_h)
        .then(_cat(text, ": deficit ", S("s_deficit_f1"), f" h > {_fmt(p.sleep_debt_h, 1)} h"))
        .otherwise(text),
        pl.when(mean < p.sleep_floor_h).then(pl.lit(f"below the {_fmt(p.sleep_floor_h, 1)}-h floor")),
    ]
    if p.coach_sleep_need_h > 0:
        parts += [
            pl.when(mean < p.coach_sleep_need_h).then(pl.lit(_j(f"< coach's need {_fmt(p.coach_sleep_need_h, 1)} h"))),
            pl.when(debt > p.sleep_debt_severe_h)
            .then(
                _cat(
                    "debt ",
                    S("s_sleep_debt_7d_h_f1"),
                    f" h > {_fmt(p.sleep_debt_h, 1)} h and > {_fmt(p.sleep_debt_severe_h, 1)} h",
                )
            )
            .when(debt > p.sleep_debt_h)
            .then(_cat("debt ", S("s_sleep_debt_7d_h_f1"), f" h > {_fmt(p.sleep_debt_h, 1)} h")),
        ]
    parts.append(
        pl.when(eff < p.sleep_eff_min_pct).then(
            _cat("efficiency ", S("s_sleep_eff_7d_pct_f0"), f" % < {_fmt(p.sleep_eff_min_pct, 0)} %")
        )
    )
    rule = _measured(
        "sleep", mean, "needs >= 3 nights of sleep this week", pl.concat_str(parts, separator="; ", ignore_nulls=True)
    )
    detail = (
        pl.when(mean.is_not_null() & usual.is_not_null())
        .then(_cat(',"detail":{"usual_h":', S("j_usual_h"), "}"))
        .otherwise(pl.lit(""))
    )
    return S("j_sleep_7d_h"), rule, detail


@_texts
def back_symptoms(p: ScorerParams) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    x = _f("back_pain_0_10")
    streak = pl.col("back_pain_streak_d").fill_null(0).cast(pl.Int64)
    st = streak.cast(pl.String)
    rising = pl.col("back_pain_rising_3d").fill_null(False)
    pain = _cat("back pain ", S("s_back_pain_0_10_f1"), "/10")
    rule = (
        pl.when(x.is_null())
        .then(pl.lit("not applicable: no back-pain report today"))
        .when((x >= p.back_pain_min) & (streak >= p.back_pain_after_d))
        .then(
            _cat(
                pain,
                " for ",
                st,
                " days (beyond 72 h)",
                pl.when(rising).then(pl.lit("; rising 3 days")).otherwise(pl.lit("")),
                _sfx("back_symptoms"),
            )
        )
        .when(x >= p.back_pain_min)
        .then(
            _cat(
                pain,
                " for ",
                st,
                pl.when(streak != 1).then(pl.lit(" days")).otherwise(pl.lit(" day")),
                " (<= 72 h)",
                _sfx("back_symptoms"),
            )
        )
        .otherwise(_cat(pain, f" < {_fmt(p.back_pain_min, 0)}", _sfx("back_symptoms")))
    )
    detail = (
        pl.when(x.is_not_null())
        .then(
            _cat(
                ',"detail":{"streak_d":',
                st,
                ',"rising":',
                pl.when(rising).then(pl.lit("true")).otherwise(pl.lit("false")),
                "}",
            )
        )
        .otherwise(pl.lit(""))
    )
    return S("j_back_pain_0_10"), rule, detail


if set(_TEXTS) != set(NAMES):  # a registry entry without its texts, or texts without an entry
    raise ImportError(
        f"models.columnar_text: component texts {sorted(_TEXTS)} differ from the registry's {list(NAMES)}"
    )


def _component_json(c: ComponentSpec, p: ScorerParams) -> list[pl.Expr | str]:
    """The pieces of component ``c``'s JSON object (``Component.as_json``), literals as str: name,
    reason, cap and row from its registry entry, value, rule and detail from its ``@_texts`` function,
    and the "nothing recorded" override of an applicable load-group component (``models.rules``)."""
    value, rule, detail = _TEXTS[c.name](p)
    has, appl = pl.col(f"has_{c.name}"), pl.col(f"appl_{c.name}")
    if c.group == "load":
        idle = pl.col("idle") & appl
        value = pl.when(idle).then(_NULL).otherwise(value)
        rule = pl.when(idle).then(pl.lit(_IDLE_RULE)).otherwise(rule)

    def tail(h: bool, a: bool) -> pl.Expr:
        return pl.lit(f',"has_data":{json.dumps(h)},"applicable":{json.dumps(a)},"row":"{c.row}"')

    flags = (
        pl.when(has & appl)
        .then(tail(True, True))
        .when(has)
        .then(tail(True, False))
        .when(appl)
        .then(tail(False, True))
        .otherwise(tail(False, False))
    )
    parts: list[pl.Expr | str] = [
        f'{{"component":"{c.name}","reason":"{c.reason}","points":',
        S(f"j_pts_{c.name}"),
        f',"cap":{_jf(c.cap(p))},"value":',
        value,
        ',"rule":"',
        rule,
        '"',
        flags,
    ]
    if detail is not None:
        parts.append(detail)
    parts.append("}")
    return parts


def _components(p: ScorerParams) -> list[list[pl.Expr | str]]:
    """The pieces of one JSON object per component, in registry order."""
    return [_component_json(c, p) for c in REGISTRY]


# ---------------------------------------------------------------- adjustments
def _adj_json(code: str, text: pl.Expr | str, cause: pl.Expr | str, values: list[tuple[str, pl.Expr | str]]) -> pl.Expr:
    """``json.dumps(Adjustment.as_json())``; a value given as str is a literal JSON token."""
    parts: list[pl.Expr | str] = [f'{{"code":"{code}","text":"', text, '","cause":"', cause, '","values":{']
    for i, (k, v) in enumerate(values):
        parts += [("," if i else "") + f'"{k}":', v]
    parts.append("}}")
    return _cat(*parts)


def _fill(code: str, **fields: object) -> pl.Expr:
    """The sentence of ``ADJUSTMENT_TEXT[code]`` (:mod:`models.vocab`), JSON-escaped: a plain value is
    formatted as the template says; ``(spec, expr)`` is a column already printed with ``spec``, which
    must be the template's (a changed template raises here, and the equality tests fail, until
    the printing is changed too)."""
    parts: list[pl.Expr | str] = []
    for literal, name, spec, conv in string.Formatter().parse(ADJUSTMENT_TEXT[code]):
        if literal:
            parts.append(_j(literal))
        if name is None:
            continue
        v = fields[name]
        if isinstance(v, tuple):
            want, e = v
            if spec != want or conv:
                raise ValueError(
                    f"models.vocab.ADJUSTMENT_TEXT[{code!r}] prints {name} as {spec!r}; "
                    f"models.columnar_text prints it as {want!r}: update models.columnar_text"
                )
            parts.append(e)
        else:
            parts.append(_j(format(v, spec)))
    return _cat(*parts)


def _str(v: pl.Expr | str) -> pl.Expr | str:
    """A JSON string token around escaped content."""
    return _cat('"', v, '"') if not isinstance(v, str) else f'"{v}"'


def _adjustments(p: ScorerParams) -> tuple[list, list, pl.Expr, pl.Expr]:
    """The advice of :func:`models.adjustments.recommend` as expressions: ``first`` (condition, code, JSON)
    in order, ``found`` (condition, priority, code, JSON) before the sort, the red-flag condition and
    its JSON."""
    S = pl.col
    T = ADJUSTMENT_TEXT
    rf = _j(RED_FLAG_TEXT)

    def clinician(cause: pl.Expr, cause_code: str) -> pl.Expr:
        text = _fill("see_clinician", cause=("", cause), red_flags=RED_FLAG_TEXT)
        return _adj_json("see_clinician", text, cause_code, [("cause", _str(cause)), ("red_flags", f'"{rf}"')])

    # ---- a red-flag day: see_clinician only
    pain = _f("back_pain_0_10")
    fresh_why = (
        pl.when(pl.col("red_flag").fill_null(False))
        .then(pl.lit("red-flag symptom reported"))
        .otherwise(
            _cat(
                "back pain ",
                S("s_back_pain_0_10_f1"),
                "/10 still rising after ",
                pl.col("back_pain_streak_d").fill_null(0).cast(pl.Int64).cast(pl.String),
                " days",
            )
        )
    )
    held_why = _cat(
        "red flag reported on ",
        pl.col("red_flag_held_since").cast(pl.String),
        " (",
        (pl.col("date") - pl.col("red_flag_held_since")).dt.total_days().cast(pl.String),
        " d ago) and not cleared since",
    )
    why = pl.when(pl.col("red_flag_fresh")).then(fresh_why).otherwise(held_why)
    flagged = pl.col("red_flag_fresh") | pl.col("red_flag_held_since").is_not_null()
    flag_json = clinician(_cat(why, "; stop training until you have been seen"), "red_flag")
    del pain

    # ---- first: clinician for lasting back pain, clinician after a recent red flag, deload
    x = _f("back_pain_0_10")
    bstreak = pl.col("back_pain_streak_d").fill_null(0).cast(pl.Int64)
    sore = (x >= p.back_pain_min).fill_null(False)
    back_clin = sore & (bstreak >= p.back_pain_clinician_d)
    recent = pl.col("recent_red_flag").is_not_null() & ~back_clin
    hs = pl.col("high_streak_d")
    deload = hs >= p.deload_after_d
    chronic, acute, acwr = _f("l_chronic_28d_au"), _f("l_acute_7d_au"), _f("l_acwr_ewma")
    low_pct, high_pct = 100 * p.deload_low_frac, 100 * p.deload_high_frac
    deload_text = (
        pl.when(chronic.is_null())
        .then(pl.lit(_j(ADJUSTMENT_GENERIC["deload_week"])))
        .otherwise(
            _fill(
                "deload_week",
                days=("", hs.cast(pl.String)),
                low_pct=low_pct,
                high_pct=high_pct,
                low_au=(".0f", S("i_low_au")),
                high_au=(".0f", S("i_high_au")),
            )
        )
    )
    first = [
        (
            back_clin,
            "see_clinician",
            clinician(
                _cat("back pain has lasted ", bstreak.cast(pl.String), " days without getting better"), "back_symptoms"
            ),
        ),
        (
            recent,
            "see_clinician",
            clinician(
                _cat(
                    "a red-flag symptom was reported on ",
                    pl.col("recent_red_flag").cast(pl.String),
                    "; if you have not been seen yet, do so before training hard again",
                ),
                "red_flag",
            ),
        ),
        (
            deload,
            "deload_week",
            _adj_json(
                "deload_week",
                deload_text,
                "high_band_streak",
                [
                    ("days", hs.cast(pl.String)),
                    ("low_au", pl.col("i_low_au").fill_null("null")),
                    ("high_au", pl.col("i_high_au").fill_null("null")),
                    ("low_pct", _jf(round(low_pct, 2))),
                    ("high_pct", _jf(round(high_pct, 2))),
                ],
            ),
        ),
    ]

    # ---- found: (condition, priority, code, json), in recommend's order before its stable sort
    pts = {n: pl.col(f"pts_{n}") for n in NAMES}
    spike = pts["load_spike"]
    ramp = pl.max_horizontal(pts["weekly_jump"], pts["ctl_ramp"])
    big = (
        acwr.is_not_null() & (acwr > p.acwr_danger) & chronic.is_not_null() & acute.is_not_null() & (acute > 0)
    ).fill_null(False)
    cut = big & (pl.col("v_cut") > 0).fill_null(False)

    def hold(cause_code: pl.Expr | str, cause: pl.Expr) -> pl.Expr:
        text = (
            pl.when(acute.is_null())
            .then(pl.lit(_j(ADJUSTMENT_GENERIC["hold_volume"])))
            .otherwise(
                _fill(
                    "hold_volume",
                    acute_au=(".0f", S("x_l_acute_7d_au_0")),
                    cause=("", cause),
                    max_pct=p.weekly_increase_max_pct,
                )
            )
        )
        return _adj_json(
            "hold_volume",
            text,
            cause_code,
            [
                ("acute_au", S("j2_l_acute_7d_au")),
                ("max_pct", _jf(round(p.weekly_increase_max_pct, 2))),
                ("cause", _str(cause)),
            ],
        )

    cut_json = _adj_json(
        "cut_volume",
        _fill(
            "cut_volume",
            target_au=(".0f", S("i_target")),
            ratio=p.target_acwr,
            chronic_au=(".0f", S("x_l_chronic_28d_au_0")),
            cut_pct=(".0f", S("x_cut_0")),
            acute_au=(".0f", S("x_l_acute_7d_au_0")),
        ),
        "acwr_spike",
        [
            ("target_au", S("i_target")),
            ("ratio", _jf(round(p.target_acwr, 2))),
            ("chronic_au", S("j2_l_chronic_28d_au")),
            ("cut_pct", S("j2_cut")),
            ("acute_au", S("j2_l_acute_7d_au")),
        ],
    )
    spike_hold = hold("acwr_spike", _cat("EWMA ACWR ", S("x_l_acwr_ewma_2")))
    small_cause_code = (
        pl.when(spike >= ramp)
        .then(pl.lit("acwr_spike"))
        .when(pts["weekly_jump"] >= pts["ctl_ramp"])
        .then(pl.lit("weekly_ramp"))
        .otherwise(pl.lit("ctl_ramp"))
    )
    wc = _f("l_weekly_change_pct")
    small_cause = (
        pl.when(spike >= ramp)
        .then(_cat("EWMA ACWR ", S("x_l_acwr_ewma_2"), f" is above {p.acwr_spike_start:g}"))
        .when(pts["weekly_jump"] >= pts["ctl_ramp"])
        .then(
            pl.when(wc.is_not_null() & ~pl.col("idle"))
            .then(_cat("this week's load is ", S("x_l_weekly_change_pct_0"), " % above last week's"))
            .otherwise(pl.lit("this week's load follows a week with none"))
        )
        .otherwise(_cat("CTL rose ", S("x_l_ctl_ramp_7d_1"), " in a week"))
    )
    load_cond = big | (spike > 0) | (ramp > 0)
    load_pri = pl.when(big).then(spike).otherwise(pl.max_horizontal(spike, ramp))
    load_code = pl.when(cut).then(pl.lit("cut_volume")).otherwise(pl.lit("hold_volume"))
    load_json = pl.when(cut).then(cut_json).when(big).then(spike_hold).otherwise(hold(small_cause_code, small_cause))

    hp, rp = pts["hrv"], pts["rhr"]
    both_c = (hp > 0) & (rp > 0)
    both = hp + rp
    rs = pl.col("recovery_streak_d")
    rest = both_c & (rs >= p.rest_after_d)
    rest_json = _adj_json(
        "rest_day",
        _fill("rest_day", cause="HRV below its normal range and resting heart rate up", days=("", rs.cast(pl.String))),
        "hrv_suppressed",
        [("cause", '"HRV below its normal range and resting heart rate up"'), ("days", rs.cast(pl.String))],
    )
    hz = _f("hrv_z")
    c1 = (both_c & ~rest) | (~both_c & (hz < p.hrv_strong_z).fill_null(False))
    c1_pri = pl.when(both_c).then(both).otherwise(hp)
    c1_text = (
        pl.when(both_c)
        .then(pl.lit("HRV is below its normal range and resting heart rate is up"))
        .otherwise(_cat("HRV is ", S("x_abs_hrv_z_1"), " SD below your baseline"))
    )
    hd = pts["hard_day_streak"]
    c2 = hd > 0
    c2_text = _cat(pl.col("l_hard_day_streak").cast(pl.Int64).cast(pl.String), " hard days in a row")
    c2_first = c2 & (~c1 | (hd > c1_pri))
    easy_cause = (
        pl.when(c1 & c2 & c2_first)
        .then(_cat(c2_text, "; ", c1_text))
        .when(c1 & c2)
        .then(_cat(c1_text, "; ", c2_text))
        .when(c1)
        .then(c1_text)
        .otherwise(c2_text)
    )
    easy_code = pl.when(c2_first).then(pl.lit("hard_day_streak")).otherwise(pl.lit("hrv_suppressed"))
    easy_json = _adj_json(
        "easy_day",
        _fill("easy_day", cause=("", easy_cause)),
        easy_code,
        [("cause", _str(easy_cause))],
    )
    recov_cond = rest | ((c1 | c2) & ~rest)
    recov_pri = pl.when(rest).then(both).when(c2_first).then(hd).otherwise(c1_pri)
    recov_code = pl.when(rest).then(pl.lit("rest_day")).otherwise(pl.lit("easy_day"))
    recov_json = pl.when(rest).then(rest_json).otherwise(easy_json)

    mean = _f("sleep_7d_h")
    night = _f("sleep_h")
    short_night = (night < p.poor_night_h).fill_null(False)
    sleep_cond = (pts["sleep"] > p.sleep_short_points) | (short_night & mean.is_not_null())
    sleep_pri = pl.max_horizontal(pts["sleep"], pl.lit(p.sleep_short_points))
    sleep_json = _adj_json(
        "prioritise_sleep",
        _fill("prioritise_sleep", need_h=(".0f", S("x_need_h_0")), sleep_7d_h=(".1f", S("x_sleep_7d_h_1"))),
        "sleep_debt",
        [("need_h", S("j2_need_h")), ("sleep_7d_h", S("j2_sleep_7d_h"))],
    )

    mono = _f("l_monotony")
    vary_cond = (~pl.col("idle") & (mono > p.monotony_flag)).fill_null(False)
    vary_json = _adj_json(
        "vary_load",
        _fill("vary_load", monotony=(".1f", S("x_l_monotony_1")), threshold=p.monotony_flag),
        "monotony",
        [("monotony", S("j2_l_monotony")), ("threshold", _jf(round(p.monotony_flag, 2)))],
    )

    mob_cond = sore & ~back_clin
    mob_pri = pl.when(bstreak < p.back_pain_after_d).then(0.0).otherwise(pts["back_symptoms"])
    mob_json = pl.lit(_adj_json_literal("mobility", _j(T["mobility"].format()), "back_symptoms"))

    found = [
        (load_cond, load_pri, load_code, load_json),
        (recov_cond, recov_pri, recov_code, recov_json),
        (sleep_cond, sleep_pri, pl.lit("prioritise_sleep"), sleep_json),
        (vary_cond, pl.col("pts_monotony"), pl.lit("vary_load"), vary_json),
        (mob_cond, mob_pri, pl.lit("mobility"), mob_json),
    ]
    return first, found, flagged, flag_json


def _adj_json_literal(code: str, text: str, cause: str) -> str:
    return f'{{"code":"{code}","text":"{text}","cause":"{cause}","values":{{}}}}'


# ---------------------------------------------------------------- the frame
_COMPONENT_NUMBERS = [
    *[
        (f"s_{c}_f{nd}", f"f_{c}", nd, "fmt")
        for c, nd in (
            ("l_acwr_ewma", 2),
            ("l_weekly_change_pct", 0),
            ("l_acute_7d_au", 0),
            ("l_chronic_28d_au", 0),
            ("l_monotony", 2),
            ("l_strain_au", 0),
            ("l_strain_p90_au", 0),
            ("l_ctl_ramp_7d", 1),
            ("hrv_z", 2),
            ("rhr_delta_bpm", 1),
            ("rhr_z", 2),
            ("sleep_7d_h", 1),
            ("sleep_baseline_h", 1),
            ("sleep_debt_7d_h", 1),
            ("sleep_eff_7d_pct", 0),
            ("back_pain_0_10", 1),
            ("deficit", 1),
        )
    ],
    *[
        (f"j_{c}", f"f_{c}", 4, "json")
        for c in (
            "l_acwr_ewma",
            "l_weekly_change_pct",
            "l_monotony",
            "l_hard_day_streak",
            "l_ctl_ramp_7d",
            "hrv_z",
            "rhr_delta_bpm",
            "rhr_z",
            "sleep_7d_h",
            "back_pain_0_10",
        )
    ],
    ("j_usual_h", "f_sleep_baseline_h", 2, "json"),
    # the points are Python-rounded already: _fmt and repr of the same value
    *[(f"s_pts_{n}", f"pts_{n}", 1, "fmt") for n in NAMES],
    *[(f"j_pts_{n}", f"pts_{n}", 1, "json") for n in NAMES],
]
_CLEAN = (
    "l_acwr_ewma",
    "l_weekly_change_pct",
    "l_acute_7d_au",
    "l_chronic_28d_au",
    "l_monotony",
    "l_strain_au",
    "l_strain_p90_au",
    "l_hard_day_streak",
    "l_ctl_ramp_7d",
    "hrv_z",
    "rhr_delta_bpm",
    "rhr_z",
    "sleep_7d_h",
    "sleep_baseline_h",
    "sleep_debt_7d_h",
    "sleep_eff_7d_pct",
    "back_pain_0_10",
)


def _prepare(w: pl.DataFrame, p: ScorerParams) -> pl.DataFrame:
    """The formatted numbers the component expressions read (``s_*``: ``_fmt``, ``j_*``: JSON)."""
    w = w.with_columns(
        *[_f(c).alias(f"f_{c}") for c in _CLEAN],
        (7.0 * (_f("sleep_baseline_h") - _f("sleep_7d_h"))).alias("f_deficit"),
    )
    w = w.with_columns(_round_int(p.target_acwr * pl.col("f_l_chronic_28d_au")).alias("_target"))
    w = w.with_columns((100.0 * (1.0 - pl.col("_target").cast(pl.Float64) / pl.col("f_l_acute_7d_au"))).alias("_cut"))
    w = _patch(w, [*_COMPONENT_NUMBERS, ("v_cut", "_cut", 1, "round")])  # v_cut: cut_volume or hold_volume
    new = []
    fam = w["l_load_family"]
    u = fam.drop_nulls().unique()
    new.append(
        fam.replace_strict(u, pl.Series([_j(v or "unknown") for v in u.to_list()], dtype=pl.String), default=None)
        .fill_null("unknown")
        .alias("s_family")
    )
    return w.with_columns(new)


def _prepare_advice(w: pl.DataFrame, p: ScorerParams) -> pl.DataFrame:
    """The numbers of the advice sentences (``x_*``: f-format, ``j2_*``: JSON, ``i_*``: int, ``v_cut``)."""
    chronic = pl.col("f_l_chronic_28d_au")
    w = w.with_columns(
        pl.col("f_hrv_z").abs().alias("f_abs_hrv_z"),
        _round_int(p.deload_low_frac * chronic).cast(pl.String).alias("i_low_au"),
        _round_int(p.deload_high_frac * chronic).cast(pl.String).alias("i_high_au"),
        pl.col("_target").cast(pl.String).alias("i_target"),
    )
    w = _patch(w, [("_usual_h", "f_sleep_baseline_h", 2, "round")])
    if p.coach_sleep_need_h > 0:
        need = pl.lit(p.coach_sleep_need_h, dtype=pl.Float64)
    else:
        usual_h = pl.col("_usual_h")
        need = (
            pl.when(usual_h.is_null())
            .then(p.sleep_need_h)
            .otherwise(pl.max_horizontal((usual_h - 1e-9).ceil(), pl.lit(7.0)))
        )
    w = w.with_columns(need.alias("_need_h"))
    return _patch(
        w,
        [
            ("x_l_acute_7d_au_0", "f_l_acute_7d_au", 0, "fixed"),
            ("x_l_chronic_28d_au_0", "f_l_chronic_28d_au", 0, "fixed"),
            ("x_l_acwr_ewma_2", "f_l_acwr_ewma", 2, "fixed"),
            ("x_l_weekly_change_pct_0", "f_l_weekly_change_pct", 0, "fixed"),
            ("x_l_ctl_ramp_7d_1", "f_l_ctl_ramp_7d", 1, "fixed"),
            ("x_abs_hrv_z_1", "f_abs_hrv_z", 1, "fixed"),
            ("x_l_monotony_1", "f_l_monotony", 1, "fixed"),
            ("x_sleep_7d_h_1", "f_sleep_7d_h", 1, "fixed"),
            ("x_cut_0", "v_cut", 0, "fixed"),
            ("x_need_h_0", "_need_h", 0, "fixed"),
            ("j2_l_acute_7d_au", "f_l_acute_7d_au", 2, "json"),
            ("j2_l_chronic_28d_au", "f_l_chronic_28d_au", 2, "json"),
            ("j2_l_monotony", "f_l_monotony", 2, "json"),
            ("j2_sleep_7d_h", "f_sleep_7d_h", 2, "json"),
            ("j2_cut", "v_cut", 2, "json"),
            ("j2_need_h", "_need_h", 2, "json"),
        ],
    )


def _joined(parts: list[pl.Expr | str]) -> pl.Expr:
    """One concat_str of the pieces, adjacent literals merged."""
    merged: list[pl.Expr | str] = []
    for x in parts:
        if isinstance(x, str) and merged and isinstance(merged[-1], str):
            merged[-1] += x
        else:
            merged.append(x)
    return pl.concat_str([pl.lit(x) if isinstance(x, str) else x for x in merged])


@dataclass(frozen=True)
class _Plan:
    """Every expression of :func:`render_texts` for one parameter set (built once, reused)."""

    rows: list[pl.Expr]  # on every row: the row number, the advice conditions, components_json
    advice: pl.Expr  # any advice on the row
    priorities: list[pl.Expr]
    ranks: list[pl.Expr]
    pieces: list[pl.Expr]  # each advice's code and JSON once
    final: list[pl.Expr]  # adjustments, adjustments_json


@lru_cache(maxsize=16)
def _plan(p: ScorerParams) -> _Plan:
    comps = _components(p)
    first, found, flagged, flag_json = _adjustments(p)
    nf = len(found)
    conds = [cond.alias(f"_c{i}") for i, (cond, *_) in enumerate(found)]
    conds += [cond.alias(f"_fc{i}") for i, (cond, *_) in enumerate(first)]
    rows = [
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
        *conds,
        flagged.alias("_flagged"),
        _joined(["[", *[x for i, c in enumerate(comps) for x in ([","] if i else []) + c], "]"]).alias(
            "components_json"
        ),
    ]
    advice = pl.any_horizontal(*[pl.col(c.meta.output_name()) for c in conds], pl.col("_flagged"))
    priorities = [pl.when(pl.col(f"_c{i}")).then(pri).alias(f"_pri{i}") for i, (_, pri, _, _) in enumerate(found)]
    # found advice by priority (descending), ties in recommend's order: rank = present ones before
    ranks = []
    for i in range(nf):
        pi = pl.col(f"_pri{i}")
        before = [
            ((pl.col(f"_pri{j}") > pi) | ((pl.col(f"_pri{j}") == pi) & pl.lit(j < i))).fill_null(False).cast(pl.Int32)
            for j in range(nf)
            if j != i
        ]
        ranks.append(pl.when(pi.is_not_null()).then(pl.sum_horizontal(before)).alias(f"_rank{i}"))
    pieces = [
        *[pl.when(pl.col(f"_c{i}")).then(js).alias(f"_js{i}") for i, (_, _, _, js) in enumerate(found)],
        *[pl.when(pl.col(f"_c{i}")).then(code).alias(f"_code{i}") for i, (_, _, code, _) in enumerate(found)],
        *[pl.when(pl.col(f"_fc{i}")).then(js).alias(f"_fjs{i}") for i, (_, _, js) in enumerate(first)],
        pl.when(pl.col("_flagged")).then(pl.concat_str([pl.lit("["), flag_json, pl.lit("]")])).alias("_flag_js"),
    ]
    codes: list[pl.Expr] = [pl.when(pl.col(f"_fc{i}")).then(pl.lit(code)) for i, (_, code, _) in enumerate(first)]
    jss: list[pl.Expr] = [pl.col(f"_fjs{i}") for i in range(len(first))]
    for k in range(nf):
        c = pl.lit(None, dtype=pl.String)
        j = pl.lit(None, dtype=pl.String)
        for i in range(nf):
            c = pl.when(pl.col(f"_rank{i}") == k).then(pl.col(f"_code{i}")).otherwise(c)
            j = pl.when(pl.col(f"_rank{i}") == k).then(pl.col(f"_js{i}")).otherwise(j)
        codes.append(c)
        jss.append(j)
    final = [
        pl.when(pl.col("_flagged"))
        .then(pl.lit("see_clinician"))
        .otherwise(pl.concat_str(codes, separator=";", ignore_nulls=True))
        .alias("adjustments"),
        pl.when(pl.col("_flagged"))
        .then(pl.col("_flag_js"))
        .otherwise(pl.concat_str([pl.lit("["), pl.concat_str(jss, separator=",", ignore_nulls=True), pl.lit("]")]))
        .alias("adjustments_json"),
    ]
    return _Plan(rows, advice, priorities, ranks, pieces, final)


def render_texts(wide: pl.DataFrame, params: ScorerParams | None = None) -> pl.DataFrame:
    """``athlete_id, date`` and :data:`TEXT_COLUMNS` for every row of the wide numbers frame.

    ``components_json`` and the advice conditions are computed on every row;
    the advice order, codes, sentences and JSON only on the rows that have
    advice (most days have none: ``""`` and ``"[]"``).
    """
    p = params or ScorerParams()
    plan = _plan(p)
    g = _prepare(wide, p).with_columns(plan.rows)
    out = g.select("athlete_id", "date", "components_json")
    sub = g.drop("components_json").filter(plan.advice)
    n = g.height
    del g  # the formatted numbers of every row are not needed any more (memory at 1.8 M rows)
    codes_col = pl.repeat("", n, dtype=pl.String, eager=True).alias("adjustments")
    js_col = pl.repeat("[]", n, dtype=pl.String, eager=True).alias("adjustments_json")
    if sub.height:
        sub = _prepare_advice(sub, p).with_columns(plan.priorities).with_columns(plan.ranks)
        adv = sub.with_columns(plan.pieces).select("_row", *plan.final)
        codes_col = codes_col.scatter(adv["_row"], adv["adjustments"])
        js_col = js_col.scatter(adv["_row"], adv["adjustments_json"])
    return out.with_columns(codes_col, js_col).select("athlete_id", "date", *TEXT_COLUMNS)
