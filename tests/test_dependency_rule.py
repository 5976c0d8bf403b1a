"""The dependency rule of docs/design.md, checked on every import statement of the packages.

* ``features``, ``models`` and ``connectors`` never import ``pipelines`` (the shell);
* ``reports`` never imports ``connectors`` or ``pipelines``, ``connectors`` never imports ``reports``;
* ``features`` imports no other package of ours; ``models`` only ``features``;
* only ``pipelines`` imports ``prefect`` (and ``prefect_dask``), ``typer`` and ``apprise``;
* ``features`` and ``models`` read no clock and no environment variable
  (``datetime.now``/``date.today``/``time.time``/``os.environ``/``os.getenv``):
  ``as_of`` dates and parameters are passed in.

Imports inside functions count too (the AST is walked, not only the module top).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("connectors", "features", "models", "reports", "pipelines")

#: package -> top-level modules it must never import
FORBIDDEN: dict[str, set[str]] = {
    "features": {"pipelines", "connectors", "models", "reports", "prefect", "prefect_dask", "typer", "apprise"},
    "models": {"pipelines", "connectors", "reports", "prefect", "prefect_dask", "typer", "apprise"},
    "connectors": {"pipelines", "reports", "models", "prefect", "prefect_dask", "typer", "apprise"},
    "reports": {"pipelines", "connectors", "prefect", "prefect_dask", "typer", "apprise"},
}


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def package_files(pkg: str) -> list[Path]:
    files = sorted((REPO / pkg).rglob("*.py"))
    assert files, f"no Python files under {pkg}/"
    return files


@pytest.mark.parametrize("pkg", sorted(FORBIDDEN))
def test_package_imports_follow_the_dependency_rule(pkg):
    bad = [
        f"{f.relative_to(REPO)}:{line} imports {mod}"
        for f in package_files(pkg)
        for line, mod in imports(f)
        if mod in FORBIDDEN[pkg]
    ]
    assert not bad, "dependency rule broken (docs/design.md):\n" + "\n".join(bad)


CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("datetime", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("os", "getenv"),
}


@pytest.mark.parametrize("pkg", ["features", "models"])
def test_pure_packages_read_no_clock_or_environment(pkg):
    bad = []
    for f in package_files(pkg):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if (node.value.id, node.attr) in CLOCK_CALLS or (node.value.id, node.attr) == ("os", "environ"):
                    bad.append(f"{f.relative_to(REPO)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not bad, "features/models must get dates and settings as arguments:\n" + "\n".join(bad)


def test_the_checker_sees_a_violation(tmp_path):
    """Control: a forbidden import inside a function is found."""
    f = tmp_path / "x.py"
    f.write_text("import polars\n\ndef f():\n    from pipelines.store import Store\n    import prefect.flows\n")
    assert imports(f) == [(1, "polars"), (4, "pipelines"), (5, "prefect")]
