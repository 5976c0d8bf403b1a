"""pipelines/scan.py: the input walk and the stat-keyed hash cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.scan import HashCache, walk_inputs
from pipelines.store import Store
from tests.budget import examples

SKIP = {".DS_Store", "Thumbs.db", "desktop.ini"}


def reference_walk(inputs):
    """The pathlib walk that ``walk_inputs`` replaces (sorted rglob, relative parts)."""
    out = []
    for raw in inputs:
        root = Path(raw)
        if root.is_file():
            if root.name not in SKIP and not root.name.startswith("."):
                out.append((str(root), None))
            continue
        for p in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = p.relative_to(root).parts
            if p.name in SKIP or any(part.startswith(".") for part in rel):
                continue
            out.append((str(p), rel[0] if len(rel) > 1 else None))
    return out


def _touch(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_walk_matches_the_pathlib_walk_on_a_tricky_tree(tmp_path: Path) -> None:
    root = tmp_path / "in"
    for rel in [
        "a/b.csv",
        "a-c.csv",
        "a/.hidden.csv",
        ".git/config",
        "a/.cache/x.fit",
        "b/Thumbs.db",
        "b/.DS_Store",
        "b/2026/01/ride.fit",
        "top.fit",
        "Z/upper.csv",
        "a/b/c.csv",
        "a.b/x.csv",
        "ä/ümlaut.csv",
        "sp ace/f i.csv",
    ]:
        _touch(root / rel)
    (root / "linked").symlink_to(root / "b", target_is_directory=True)
    (root / "dangling.csv").symlink_to(root / "nowhere.csv")
    got = walk_inputs([root])
    assert got == reference_walk([root])
    assert (str(root / "a-c.csv"), None) in got and not any("linked" in p for p, _ in got)
    assert not any("/." in p for p, _ in got)


def test_walk_spells_paths_as_pathlib_does(tmp_path: Path, monkeypatch) -> None:
    _touch(tmp_path / "in" / "ath1" / "a.csv")
    monkeypatch.chdir(tmp_path)
    for raw in ("./in", "in/", "in//", str(tmp_path) + "//in/./"):
        assert walk_inputs([raw]) == reference_walk([raw]), raw


def test_walk_files_given_directly_and_missing_inputs(tmp_path: Path) -> None:
    _touch(tmp_path / "one.fit")
    _touch(tmp_path / ".two.fit")
    assert walk_inputs([tmp_path / "one.fit"]) == [(str(tmp_path / "one.fit"), None)]
    assert walk_inputs([tmp_path / ".two.fit"]) == reference_walk([tmp_path / ".two.fit"]) == []
    with pytest.raises(FileNotFoundError, match="input not found"):
        walk_inputs([tmp_path / "nope"])


names = st.sampled_from(["a", "b", "a-b", "a.b", ".h", "Z", "1", "a b", "é", "Thumbs.db", "x.fit"])


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(st.lists(names, min_size=1, max_size=4), min_size=1, max_size=12))
def test_walk_matches_the_pathlib_walk_on_random_trees(tmp_path_factory, paths) -> None:
    root = tmp_path_factory.mktemp("tree")
    for parts in paths:
        target = root.joinpath(*parts)
        if any(p.is_file() for p in [target, *target.parents] if p != root and root in p.parents):
            continue  # a file already sits where a folder would go
        if target.exists():
            continue
        _touch(target)
    assert walk_inputs([root]) == reference_walk([root])


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_hash_cache_rereads_only_changed_files(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    files = [tmp_path / f"f{i}.csv" for i in range(5)]
    for i, f in enumerate(files):
        f.write_text(f"row {i}\n")
    cache = HashCache(store)
    first = cache.hashes(files)
    assert first == [(f.stat().st_size, _sha(f)) for f in files] and cache.misses == 5

    again = HashCache(store)
    assert again.hashes(files) == first and (again.hits, again.misses) == (5, 0)

    # rewrite one file in place with the same size and put its mtime back: ctime still moves
    st0 = files[2].stat()
    files[2].write_text("row X\n")
    os.utime(files[2], ns=(st0.st_atime_ns, st0.st_mtime_ns))
    assert files[2].stat().st_size == st0.st_size and files[2].stat().st_mtime_ns == st0.st_mtime_ns
    third = HashCache(store)
    got = third.hashes(files)
    assert got[2] == (st0.st_size, _sha(files[2])) != first[2]
    assert (third.hits, third.misses) == (4, 1)

    # replaced by another file under the same name (new inode)
    tmp = tmp_path / "new.csv"
    tmp.write_text("row 0\n")  # same content as before: same hash, but it is re-read
    os.replace(tmp, files[0])
    fourth = HashCache(store)
    assert fourth.hashes(files)[0] == first[0] and fourth.misses == 1


def test_hash_cache_without_remember_writes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    f = tmp_path / "member.fit"
    f.write_bytes(b"\x0e\x10")
    HashCache(store).hashes([f], remember=False)
    c = HashCache(store)
    c.hashes([f])
    assert c.misses == 1


def test_hash_cache_survives_a_broken_cache_table(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    f = tmp_path / "a.csv"
    f.write_text("x\n")
    con = store.connect()
    con.execute("CREATE TABLE file_hashes (path TEXT)")  # an incompatible table: the cache is skipped
    con.commit()
    con.close()
    assert HashCache(store).hashes([f]) == [(f.stat().st_size, _sha(f))]


def test_hash_cache_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        HashCache(Store(tmp_path / "store")).hashes([tmp_path / "gone.csv"])
