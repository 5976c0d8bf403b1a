"""Every citation code used in the code and the docs resolves in docs/references.md (issue 18).

A code is a letter and a number inside square brackets, alone or in a list or
range: ``[R8]``, ``[H5, H7]``, ``[S1-S4, B11]``, ``[R8–R10]``. The packages,
``docs/`` and the README are scanned (tests use brackets for other things).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = [
    *(REPO / p for p in ("connectors", "features", "models", "reports", "pipelines", "docs")),
    REPO / "README.md",
]
LETTERS = "RHSBGFWITVPMD"
_BRACKET = re.compile(r"\[([^\[\]\n]{1,80})\]")
_ONLY_CODES = re.compile(rf"[\s{LETTERS}0-9,;/–-]+")
_CODE = re.compile(rf"([{LETTERS}])(\d{{1,2}})(?:\s*[–-]\s*([{LETTERS}])?(\d{{1,2}}))?")
_ENTRY = re.compile(rf"^- \*\*([{LETTERS}]\d{{1,2}})\*\*", re.M)


def codes_in(text: str) -> set[str]:
    out: set[str] = set()
    for m in _BRACKET.finditer(text):
        inner = m.group(1)
        if not _ONLY_CODES.fullmatch(inner) or not re.search(rf"[{LETTERS}]\d", inner):
            continue
        for c in _CODE.finditer(inner):
            letter, lo, letter2, hi = c.group(1), int(c.group(2)), c.group(3), c.group(4)
            if hi is None:
                out.add(f"{letter}{lo}")
            else:
                assert letter2 in (None, letter), f"range across letters: {inner}"
                out.update(f"{letter}{k}" for k in range(lo, int(hi) + 1))
    return out


def used_codes() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for src in SOURCES:
        files = [src] if src.is_file() else [p for p in src.rglob("*") if p.suffix in (".py", ".md", ".j2", ".html")]
        for f in files:
            for code in codes_in(f.read_text(encoding="utf-8")):
                used.setdefault(code, set()).add(str(f.relative_to(REPO)))
    return used


def test_code_parser():
    assert codes_in("see [R8] and [H5, H7]; [S1-S4, B11] [R8–R10] [x] [T0 offset] list[0]") == {
        "R8",
        "H5",
        "H7",
        "S1",
        "S2",
        "S3",
        "S4",
        "B11",
        "R9",
        "R10",
    }


def test_every_citation_code_resolves_in_references_md():
    listed = set(_ENTRY.findall((REPO / "docs" / "references.md").read_text(encoding="utf-8")))
    assert len(listed) >= 70
    used = used_codes()
    assert {"R8", "B13", "M3", "G2"} <= set(used)  # the scan sees the code base
    missing = {c: sorted(f) for c, f in used.items() if c not in listed}
    assert not missing, f"codes used but not in docs/references.md: {missing}"


@pytest.mark.parametrize("doc", ["design.md", "contributing.md", "references.md"])
def test_docs_exist_and_are_linked_from_the_readme(doc):
    assert (REPO / "docs" / doc).is_file()
    assert f"docs/{doc}" in (REPO / "README.md").read_text(encoding="utf-8")
