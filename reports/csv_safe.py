"""CSV for people: cells that a spreadsheet would run as a formula are neutralised.

A coach opens ``strainwatch export`` and ``strainwatch ledger --csv`` files in
Excel, LibreOffice or Google Sheets. A text cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return can be evaluated as a formula there
(``=HYPERLINK(...)`` in a sport name, a note or a file name from an input
folder). Following the OWASP CSV-injection rule, such a text cell gets a
leading single quote (``'=HYPERLINK(...)``), which spreadsheets show as text;
the CSV writer quotes cells that need it.

Only text columns change: numbers are written as numbers, so ``-3.5`` in a
numeric column stays ``-3.5`` (a spreadsheet reads it as a number, not a
formula). Dates and times never start with these characters.

Reference: OWASP, "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import io

import polars as pl

__all__ = ["FORMULA_START", "neutralize_formulas", "people_csv_bytes"]

#: First characters that make a spreadsheet treat a cell as a formula (OWASP).
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_PATTERN = "^[=+\\-@\t\r]"


def _is_text(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))


def neutralize_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix ``'`` to every text cell that starts with one of :data:`FORMULA_START`.

    Text columns (String, Categorical, Enum) become String; every other
    column, and every text cell that does not start with such a character, is
    returned unchanged. Nulls stay null.
    """
    exprs = []
    for name, dtype in df.schema.items():
        if _is_text(dtype):
            c = pl.col(name).cast(pl.String)
            exprs.append(pl.when(c.str.contains(_PATTERN)).then(pl.lit("'") + c).otherwise(c).alias(name))
    return df.with_columns(exprs) if exprs else df


def people_csv_bytes(df: pl.DataFrame, **write_csv_options) -> bytes:
    """``df`` as CSV bytes, text cells neutralised (:func:`neutralize_formulas`).

    ``write_csv_options`` go to :meth:`polars.DataFrame.write_csv`
    (e.g. ``datetime_format``).
    """
    buf = io.BytesIO()
    neutralize_formulas(df).write_csv(buf, **write_csv_options)
    return buf.getvalue()
