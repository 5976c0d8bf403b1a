"""Athlete ids: NFC, no control characters, no two athletes in one partition on macOS (issue 13 item 11)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.athlete_id import collision_key, find_collisions, id_problem, normalize_athlete_id
from pipelines.ingest import ingest_paths
from pipelines.store import Store, _athlete_key
from tests.budget import examples

HEAD = "athlete_id,date,resting_hr,hrv_rmssd_ms\n"
ZOE_NFC = "Zo\u00eb"
ZOE_NFD = "Zoe\u0308"


def daily(path: Path, athlete: str | None, day: int, rhr: int = 50) -> Path:
    """A generic-CSV daily file; ``athlete=None`` leaves the id to the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if athlete is None:
        path.write_text(f"date,resting_hr,hrv_rmssd_ms\n2026-01-{day:02d},{rhr},70\n", encoding="utf-8")
    else:
        path.write_text(HEAD + f"{athlete},2026-01-{day:02d},{rhr},70\n", encoding="utf-8")
    return path


def run(store: Store, *inputs: Path):
    return ingest_paths(store, list(inputs), pool=False)


# ------------------------------------------------------------------ pure rules
def test_id_problems_name_the_character_and_escape_the_id():
    assert id_problem("alice") is None and id_problem(ZOE_NFC) is None and id_problem("Ana María") is None
    assert id_problem("") == "athlete id is empty"
    assert "spaces at the start or end" in id_problem(" bob")
    msg = id_problem("bo\nb")
    assert msg == (
        "athlete id 'bo\\nb' contains a control character (U+000A at character 3); ids must be printable text"
    )
    assert "\n" not in msg
    assert "U+001B" in id_problem("x\x1b[2Jy") and "\x1b" not in id_problem("x\x1b[2Jy")
    assert "invisible format character (U+202E" in id_problem("abc\u202eevil")  # right-to-left override
    assert "invisible format character (U+200B" in id_problem("ali\u200bce")  # zero-width space
    assert "line separator (U+2028" in id_problem("a\u2028b")


def test_collision_key_case_and_look_alikes():
    assert collision_key("Carla") == collision_key("carla") == collision_key("CARLA")
    assert collision_key("\uff23\uff41\uff52\uff4c\uff41") == collision_key("carla")  # full-width Ｃａｒｌａ
    assert collision_key(ZOE_NFD) == collision_key(ZOE_NFC) == collision_key("ZOË")
    assert collision_key("straße") == collision_key("STRASSE")
    assert collision_key("carla") != collision_key("carla2")
    assert find_collisions(["carla", "bob", "Bob", "Carla"], ["Carla"]) == {"carla": "Carla", "Bob": "bob"}
    assert find_collisions(["Carla"], ["Carla"]) == {}  # the same athlete again is no collision


ids = st.lists(
    st.sampled_from(list("abcABC\u00e9\u00c9\uff41\uff21\u00df1") + ["e\u0301", "SS", "ss"]), min_size=1, max_size=4
).map("".join)


@settings(max_examples=examples(300), deadline=None)
@given(known=st.lists(ids, max_size=4, unique=True), new=st.lists(ids, max_size=8))
def test_property_accepted_ids_never_share_a_partition_file_on_a_case_insensitive_fs(known, new):
    known = list(dict.fromkeys(normalize_athlete_id(k) for k in known))
    known = [k for k in known if k not in find_collisions(known, [])]  # a store made by the rule
    new = [normalize_athlete_id(a) for a in new]
    clashes = find_collisions(new, known)
    accepted = set(known) | {a for a in new if a not in clashes}
    # macOS compares file names case-insensitively: the partition names must differ after lower()
    names = [_athlete_key(a).lower() for a in accepted]
    assert len(set(names)) == len(names)
    for a, other in clashes.items():
        assert a != other and collision_key(a) == collision_key(other) and other in accepted


@given(st.text(max_size=10))
def test_property_nfc_is_idempotent_and_nfd_spelling_is_the_same_id(s):
    assert normalize_athlete_id(normalize_athlete_id(s)) == normalize_athlete_id(s)
    assert normalize_athlete_id(unicodedata.normalize("NFD", s)) == normalize_athlete_id(s)


# ------------------------------------------------------------------ ingest
def test_nfd_and_nfc_folders_are_one_athlete(tmp_path):
    inputs = tmp_path / "in"
    daily(inputs / ZOE_NFD / "a.csv", None, 5)
    daily(inputs / ZOE_NFC / "b.csv", None, 6)
    daily(inputs / "c.csv", ZOE_NFD, 7)  # an NFD id in the column too (an id column: no athlete folder)
    st = Store(tmp_path / "data")
    s = run(st, inputs)
    assert s.rejected == 0 and s.ingested == 3
    assert st.all_athletes() == [ZOE_NFC]
    assert st.read_table("wellness")["athlete_id"].unique().to_list() == [ZOE_NFC]


@pytest.mark.parametrize(
    "bad, shown",
    [("bo\x1b[2Jb", "'bo\\x1b[2Jb'"), ("ev\u202eil", "'ev\\u202eil'"), ("zero\u200bwidth", "'zero\\u200bwidth'")],
)
def test_control_characters_in_a_column_id_reject_the_file_naming_it(tmp_path, bad, shown):
    inputs = tmp_path / "in"
    f = daily(inputs / "daily.csv", bad, 5)
    daily(inputs / "ok.csv", "alice", 5)
    st = Store(tmp_path / "data")
    s = run(st, inputs)
    assert s.rejected == 1 and s.ingested == 1 and st.all_athletes() == ["alice"]
    (p,) = s.problems
    assert p.startswith(f"{f}: athlete id {shown} contains") and "Rename the athlete's folder" in p
    assert bad not in p  # escaped: nothing reaches the terminal raw
    led = st.ledger()
    assert led.filter(led["status"] == "rejected")["path"].to_list() == [str(f)]


def test_a_newline_in_a_folder_name_rejects_the_file(tmp_path):
    inputs = tmp_path / "in"
    f = daily(inputs / "ev\nil" / "daily.csv", None, 5)
    st = Store(tmp_path / "data")
    s = run(st, inputs)
    assert s.rejected == 1 and st.all_athletes() == []
    assert s.problems[0].startswith(f"{f}: athlete id 'ev\\nil' contains a control character (U+000A")


def test_ids_differing_only_by_case_are_refused_and_nothing_is_overwritten(tmp_path):
    inputs = tmp_path / "in"
    daily(inputs / "Carla" / "d1.csv", None, 5, rhr=50)
    st = Store(tmp_path / "data")
    assert run(st, inputs).ingested == 1
    # a later export in a 'carla' folder, one with a full-width id, and one in the same batch twice
    f2 = daily(tmp_path / "in2" / "carla" / "d2.csv", None, 6, rhr=60)
    f3 = daily(tmp_path / "in2" / "d3.csv", "\uff23\uff41\uff52\uff4c\uff41", 7)
    f4 = daily(tmp_path / "in2" / "d4.csv", "dave", 7)
    f5 = daily(tmp_path / "in2" / "d5.csv", "DAVE", 8)
    s = run(st, tmp_path / "in2")
    assert s.ingested == 1 and s.rejected == 3
    assert st.all_athletes() == ["Carla", "dave"]
    assert st.read_table("wellness", ["Carla"])["rhr_bpm"].to_list() == [50.0]  # Carla's data untouched
    probs = sorted(s.problems)
    assert probs[0] == (
        f"{f2}: athlete id 'carla' differs from athlete 'Carla' only by upper/lower case or look-alike "
        "characters; on a case-insensitive file system (macOS) both would share one partition file, "
        "so this file is not stored. Use the same id as 'Carla' (rename the folder or fix the "
        "athlete_id column) or a clearly different one, then ingest again with --retry-rejected"
    )
    assert probs[1].startswith(f"{f3}: athlete id 'Ｃａｒｌａ' differs from athlete 'Carla'")
    assert probs[2].startswith(f"{f5}: athlete id 'DAVE' differs from athlete 'dave'")
    led = st.ledger()
    assert sorted(led.filter(led["status"] == "rejected")["path"].to_list()) == sorted(map(str, (f2, f3, f5)))
    assert str(f4) in led.filter(led["status"] == "ingested")["path"].to_list()
    # renamed to the stored id, the export is read (a new path)
    # (the same bytes were rejected, so --retry-rejected, as the message says)
    f6 = daily(tmp_path / "in3" / "Carla" / "d2.csv", None, 6, rhr=60)
    s = ingest_paths(st, [f6.parent.parent], pool=False, retry_rejected=True)
    assert s.ingested == 1 and st.read_table("wellness", ["Carla"])["rhr_bpm"].to_list() == [50.0, 60.0]


def test_roster_ids_are_checked_and_must_not_collide(tmp_path):
    from pipelines.config import ConfigError, load_config

    cfg = tmp_path / "sw.toml"
    cfg.write_text(f'[[athletes]]\nid = "{ZOE_NFD}"\n', encoding="utf-8")
    assert load_config(cfg, environ={}).athletes[0].id == ZOE_NFC
    cfg.write_text('[[athletes]]\nid = "Carla"\n[[athletes]]\nid = "carla"\n')
    with pytest.raises(ConfigError, match="athletes\\[1\\].id: athlete id 'carla' differs from 'Carla'"):
        load_config(cfg, environ={})
    cfg.write_text('[[athletes]]\nid = "a\\u001bb"\n')
    with pytest.raises(ConfigError, match="contains a control character \\(U\\+001B"):
        load_config(cfg, environ={})
