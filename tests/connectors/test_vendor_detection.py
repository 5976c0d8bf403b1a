"""Content detection across all vendor fixtures: each file is claimed by exactly the right connector."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors import apple_health, oura, registry, whoop

VENDOR = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
MINE = {"whoop": whoop, "oura": oura, "apple_health": apple_health}
ALL = sorted(p for p in VENDOR.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(VENDOR)) for p in ALL])
def test_each_fixture_goes_to_its_own_connector(path):
    vendor = path.relative_to(VENDOR).parts[0]
    head = registry.read_head(path)
    for name, mod in MINE.items():
        # my detectors claim my vendor's files and nobody else's
        assert mod.detect(path, head) == (name == vendor), (name, path)
    if vendor in MINE:
        assert registry.detect(path) is MINE[vendor]


def test_corpus_apple_files_go_to_apple(corpus_dir):
    for p in sorted((corpus_dir / "xml" / "apple_health").glob("*.xml")):
        assert registry.detect(p) is apple_health
