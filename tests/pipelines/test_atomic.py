"""pipelines.atomic.atomic_write_bytes: whole file or none, the mode set at creation, no temporary left."""

from __future__ import annotations

import os
import stat

import pytest

from pipelines import checkin
from pipelines.atomic import atomic_write_bytes


def test_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "a.json"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.json"]


def test_mode_is_set_when_the_file_is_created(tmp_path):
    old = os.umask(0o022)
    try:
        seen = []
        target = tmp_path / "tokens.json"

        def peek():  # the temporary file already has the final mode before the rename
            (tmp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".tokens.json.")]
            seen.append(stat.S_IMODE(tmp.stat().st_mode))
            assert not target.exists()

        atomic_write_bytes(target, b"{}", mode=0o600, before_rename=peek)
        assert seen == [0o600]
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        atomic_write_bytes(tmp_path / "b.json", b"{}")
        assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o644  # open()'s 0o666 less the umask
    finally:
        os.umask(old)


def test_a_failure_before_the_rename_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_bytes(target, b"old")

    def boom():
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        atomic_write_bytes(target, b"new", before_rename=boom)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_checkin_writes_tokens_private_and_pauses_before_the_rename(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(checkin, "_test_pause", lambda: calls.append(1))
    checkin.issue_token(tmp_path, "a1")
    path = checkin.tokens_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and calls == [1]
