"""The daily check-in: answer files, tokens, the web app's refusals and validation, CSV import.

The browser test (390 px, red flag, nightly run, coach alert) is in
``test_checkin_browser.py``; the kill-during-submit test in ``test_checkin_crash.py``.
"""

from __future__ import annotations

import json
import shutil
import stat
from datetime import date, datetime, timezone

import polars as pl
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import registry
from connectors.base import BadRowError, ReadContext
from connectors.checkin import FILE_FORMAT, read, validate_answer
from pipelines.checkin import (
    CheckinError,
    FormFields,
    inbox_dir,
    issue_token,
    parse_form,
    read_form_csv,
    tokens_path,
    verify_token,
    write_answer_file,
)
from pipelines.checkin_app import create_app
from pipelines.config import Athlete, Config
from pipelines.ingest import ingest_paths
from pipelines.store import Store
from tests.budget import examples

TODAY = date(2026, 11, 10)
NOW = datetime(2026, 11, 10, 6, 30, tzinfo=timezone.utc)  # 07:30 in Berlin

SESSIONS_CSV = (
    "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
    "ana,2026-11-09T17:30:00+01:00,50,running,150,,9.1\n"
    "ben,2026-11-09T18:00:00+01:00,40,cycling,140,,\n"
)


def answer(**over):
    a = {
        "athlete_id": "ana",
        "date": "2026-11-10",
        "reported_utc": "2026-11-10T06:30:00Z",
        "via": "web",
        "back_pain_0_10": 4,
        "back_pain_area": "lower_back",
        "soreness_0_10": 3,
        "sleep_quality_1_5": 2,
        "red_flags": [],
        "sessions": [
            {
                "start_utc": "2026-11-09T16:30:00Z",
                "local_date": "2026-11-09",
                "sport": "running",
                "minutes": 50,
                "rpe": 6,
            }
        ],
        "note": None,
    }
    a.update(over)
    return a


@pytest.fixture
def cfg():
    return Config(
        athletes=[Athlete(id="ana", name="Ana", timezone="Europe/Berlin"), Athlete(id="ben", timezone="Europe/Berlin")]
    )


@pytest.fixture(scope="module")
def _ingested_store(tmp_path_factory):
    """The sessions file ingested once per module; tests get a copy (they write answers into it)."""
    tmp = tmp_path_factory.mktemp("checkin")
    inputs = tmp / "inputs"
    inputs.mkdir()
    (inputs / "sessions.csv").write_text(SESSIONS_CSV)
    root = tmp / "store"
    s = ingest_paths(Store(root), [inputs], pool=False)
    assert s.ingested == 1 and s.rejected == 0
    return root


@pytest.fixture
def store_root(_ingested_store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(_ingested_store, root)
    return root


@pytest.fixture
def client(store_root, cfg):
    return TestClient(create_app(store_root, cfg, clock=lambda: NOW))


def good_form(**over) -> str:
    from urllib.parse import urlencode

    f = {
        "back_pain": "4",
        "area": "lower_back",
        "soreness": "3",
        "sleep": "2",
        "n_dev": "1",
        "d0_ref": "2026-11-09T16:30:00Z",
        "d0_min": "50",
        "d0_rpe": "6",
        "note": "",
    }
    f.update(over)
    pairs = [(k, v) for k, v in f.items() if k != "rf"] + [("rf", x) for x in f.get("rf", [])]
    return urlencode(pairs)


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


# ------------------------------------------------------------------ the file format
def test_answer_file_reads_into_wellness_and_sessions(tmp_path):
    p = tmp_path / "x.checkin.json"
    p.write_text(json.dumps({"format": FILE_FORMAT, "answers": [answer(red_flags=["leg_weakness", "trauma"])]}))
    assert registry.detect(p).FORMAT == "checkin"
    r = read(p, ReadContext(source_name="x.checkin.json"))
    w = r.wellness.row(0, named=True)
    assert (w["source"], w["date"], w["back_pain_0_10"], w["soreness"], w["red_flag"]) == (
        "checkin",
        date(2026, 11, 10),
        4.0,
        3.0,
        True,
    )
    assert w["red_flags"] == "leg_weakness;trauma" and w["back_pain_area"] == "lower_back"
    assert w["sleep_quality_1_5"] == 2.0 and w["reported_utc"] == datetime(2026, 11, 10, 6, 30, tzinfo=timezone.utc)
    s = r.sessions.row(0, named=True)
    # session RPE load: 6 x 50 min = 300 AU
    assert (s["source"], s["duration_s"], s["rpe"], s["load_au"], s["load_method"]) == (
        "checkin",
        3000.0,
        6.0,
        300.0,
        "srpe",
    )
    assert s["local_date"] == date(2026, 11, 9)


def test_pain_elsewhere_is_not_scored_as_low_back_pain(tmp_path):
    p = tmp_path / "x.checkin.json"
    p.write_text(
        json.dumps(
            {
                "format": FILE_FORMAT,
                "answers": [
                    answer(back_pain_0_10=6, back_pain_area="neck"),
                    answer(athlete_id="ben", back_pain_0_10=5, back_pain_area="lower_back"),
                    answer(athlete_id="cy", back_pain_0_10=0, back_pain_area=None),
                ],
            }
        )
    )
    w = read(p, ReadContext()).wellness
    assert w["pain_0_10"].to_list() == [6.0, 5.0, 0.0]
    assert w["back_pain_0_10"].to_list() == [None, 5.0, 0.0]  # neck pain is not low-back pain
    assert w["back_pain_area"].to_list() == ["neck", "lower_back", None]


def test_no_red_flag_is_an_explicit_false(tmp_path):
    p = tmp_path / "x.checkin.json"
    p.write_text(json.dumps({"format": FILE_FORMAT, "answers": [answer(back_pain_0_10=0, back_pain_area="neck")]}))
    w = read(p, ReadContext()).wellness.row(0, named=True)
    assert w["red_flag"] is False and w["back_pain_area"] is None  # no pain: no area


@pytest.mark.parametrize(
    "field,value,expect",
    [
        ("back_pain_0_10", 11, "back_pain_0_10 must be a whole number from 0"),
        ("soreness_0_10", -1, "soreness_0_10 must be"),
        ("sleep_quality_1_5", 0, "sleep_quality_1_5 must be"),
        ("back_pain_0_10", 2.5, "got 2.5"),
        ("red_flags", ["headache"], "red_flags must be a list of"),
        ("back_pain_area", "knee", "back_pain_area must be one of"),
    ],
)
def test_out_of_scale_file_is_rejected_naming_the_answer_and_field(tmp_path, field, value, expect):
    p = tmp_path / "bad.checkin.json"
    p.write_text(json.dumps({"format": FILE_FORMAT, "answers": [answer(), answer(**{field: value})]}))
    with pytest.raises(BadRowError) as e:
        read(p, ReadContext(source_name="bad.checkin.json"))
    assert "bad.checkin.json" in str(e.value) and "answer 2 of 2" in str(e.value) and expect in str(e.value)


def test_session_rpe_out_of_scale_names_the_session():
    with pytest.raises(ValueError, match=r"sessions\[0\]\.rpe must be .* got 12"):
        validate_answer(
            answer(
                sessions=[{"start_utc": "2026-11-09T16:30:00Z", "local_date": "2026-11-09", "minutes": 50, "rpe": 12}]
            )
        )


def test_truncated_file_is_rejected_with_its_offset(tmp_path):
    p = tmp_path / "t.checkin.json"
    full = json.dumps({"format": FILE_FORMAT, "answers": [answer()]})
    p.write_text(full[: len(full) // 2])
    with pytest.raises(Exception, match=r"t\.checkin\.json.*byte \d+: not valid JSON"):
        read(p, ReadContext(source_name="t.checkin.json"))


# ------------------------------------------------------------------ tokens
def test_tokens_are_random_hashed_and_rotated(tmp_path):
    t1 = issue_token(tmp_path, "ana")
    t2 = issue_token(tmp_path, "ben")
    assert t1 != t2 and len(t1) >= 24
    raw = tokens_path(tmp_path).read_text()
    assert t1 not in raw and t2 not in raw  # only hashes are stored
    assert stat.S_IMODE(tokens_path(tmp_path).stat().st_mode) == 0o600
    assert verify_token(tmp_path, "ana", t1) and verify_token(tmp_path, "ben", t2)
    assert not verify_token(tmp_path, "ben", t1) and not verify_token(tmp_path, "ana", None)
    assert not verify_token(tmp_path, "nobody", t1)
    t3 = issue_token(tmp_path, "ana")  # --rotate ana
    assert verify_token(tmp_path, "ana", t3) and not verify_token(tmp_path, "ana", t1)
    assert verify_token(tmp_path, "ben", t2)  # the others keep theirs


# ------------------------------------------------------------------ the web app: access
def test_missing_or_wrong_token_is_refused(client, store_root):
    token = issue_token(store_root, "ana")
    assert client.get(f"/c/ana/{token}").status_code == 200
    for url in ("/c/ana", "/c/ana/", "/c/ana/wrong-token", f"/c/ana/{token[:-1]}", "/", "/c/"):
        r = client.get(url)
        assert r.status_code in (403, 404), url
        assert "Ana" not in r.text and "not valid" in r.text
    r = client.post("/c/ana/wrong-token", content=good_form(), headers=FORM_HEADERS)
    assert r.status_code == 403
    assert not inbox_dir(store_root).exists()


def test_oversized_body_is_refused(client, store_root):
    token = issue_token(store_root, "ana")
    r = client.post(f"/c/ana/{token}", content=good_form(note="x" * 70_000), headers=FORM_HEADERS)
    assert r.status_code == 413 and not inbox_dir(store_root).exists()


def test_another_athletes_id_with_a_valid_token_is_refused(client, store_root):
    ana = issue_token(store_root, "ana")
    issue_token(store_root, "ben")
    r = client.get(f"/c/ben/{ana}")
    assert r.status_code == 403 and "cycling" not in r.text.lower()  # ben's session is not shown
    r = client.post(f"/c/ben/{ana}", content=good_form(), headers=FORM_HEADERS)
    assert r.status_code == 403
    assert not inbox_dir(store_root).exists()
    assert Store(store_root).read_table("wellness").is_empty()


def test_form_prefills_yesterdays_device_session_and_has_no_external_resources(client, store_root):
    token = issue_token(store_root, "ana")
    r = client.get(f"/c/ana/{token}")
    html = r.text
    assert "Running" in html and "at 17:30" in html and 'value="50"' in html  # minutes from the device
    assert "cycling" not in html.lower()  # ben's session is ben's
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "not a diagnosis" in html
    assert "script-src" not in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    for q in ("peeing", "saddle", "both legs", "below the knee", "Fever", "fall", "about a week"):
        assert q in html


# ------------------------------------------------------------------ the web app: answers
@pytest.mark.parametrize(
    "over,field,message",
    [
        ({"back_pain": "11"}, "back_pain", "Back or neck pain: 11 is outside the scale"),
        ({"soreness": "-2"}, "soreness", "General soreness: -2 is outside the scale"),
        ({"sleep": "9"}, "sleep", "Sleep quality: 9 is outside the scale"),
        ({"d0_rpe": "14"}, "d0_rpe", "Effort (RPE) of the running session: 14 is outside the scale"),
        ({"d0_min": "2000"}, "d0_min", "Minutes of the running session: 2000 is outside the scale"),
        ({"back_pain": "abc"}, "back_pain", "is not a number"),
        ({"back_pain": "1e1"}, "back_pain", "1e1&#39; is not a number"),
        ({"area": ""}, "area", "Where is the pain?"),
        ({"x0_min": "30"}, "x0_rpe", "Effort (RPE) of the added session: please answer"),
        ({"rf": ["made_up"]}, "rf", "Unknown red-flag answer"),
    ],
)
def test_out_of_scale_answer_is_rejected_with_a_message_and_nothing_stored(client, store_root, over, field, message):
    token = issue_token(store_root, "ana")
    r = client.post(f"/c/ana/{token}", content=good_form(**over), headers=FORM_HEADERS)
    assert r.status_code == 422
    assert message in r.text
    assert not inbox_dir(store_root).exists()
    assert Store(store_root).read_table("wellness").is_empty()


def test_answer_is_stored_ledgered_and_red_flag_advice_shown(client, store_root):
    token = issue_token(store_root, "ana")
    r = client.post(
        f"/c/ana/{token}",
        headers=FORM_HEADERS,
        content=good_form(rf=["saddle_numbness", "no_better_week"], x0_sport="gym", x0_min="30", x0_rpe="7"),
    )
    assert r.status_code == 200, r.text
    assert "emergency department" in r.text and "physiotherapist" in r.text and "coach will be alerted" in r.text
    files = sorted(inbox_dir(store_root).rglob("*.checkin.json"))
    assert len(files) == 1 and files[0].parent.name == "ana"
    st = Store(store_root)
    w = st.read_table("wellness").row(0, named=True)
    assert (w["athlete_id"], w["source"], w["date"], w["back_pain_0_10"], w["red_flag"]) == (
        "ana",
        "checkin",
        TODAY,
        4.0,
        True,
    )
    assert w["red_flags"] == "saddle_numbness;no_better_week" and w["reported_utc"] == NOW
    s = st.read_table("sessions").filter(pl.col("source") == "checkin").sort("start_utc")
    assert s["rpe"].to_list() == [7.0, 6.0]  # the gym session at local noon, the run at 17:30
    assert s["load_au"].to_list() == [210.0, 300.0]  # 7 x 30, 6 x 50
    assert s["start_utc"][1] == datetime(2026, 11, 9, 16, 30, tzinfo=timezone.utc)  # the device session's start
    led = st.ledger().filter(pl.col("format") == "checkin")
    assert led.height == 1 and led["status"][0] == "ingested" and led["rows_wellness"][0] == 1


def test_answer_again_replaces_the_days_answer(client, store_root):
    token = issue_token(store_root, "ana")
    assert client.post(f"/c/ana/{token}", content=good_form(rf=["trauma"]), headers=FORM_HEADERS).status_code == 200
    assert client.post(f"/c/ana/{token}", content=good_form(back_pain="1"), headers=FORM_HEADERS).status_code == 200
    w = Store(store_root).read_table("wellness")
    assert w.height == 1 and w["back_pain_0_10"][0] == 1.0 and w["red_flag"][0] is False


def test_device_rpe_merges_into_the_device_session(store_root, client):
    """The check-in row of a pre-filled device session is kept once, with the athlete's RPE."""
    from features.merge import merge_duplicate_sessions

    token = issue_token(store_root, "ana")
    client.post(f"/c/ana/{token}", content=good_form(), headers=FORM_HEADERS)
    s = Store(store_root).read_table("sessions", athletes=["ana"])
    assert s.height == 2
    kept = merge_duplicate_sessions(s)
    kept = kept[0] if isinstance(kept, tuple) else kept
    assert kept.height == 1 and kept["source"][0] == "generic_csv" and kept["rpe"][0] == 6.0


def test_busy_store_keeps_the_answer_for_the_nightly_run(client, store_root):
    token = issue_token(store_root, "ana")
    st = Store(store_root)
    import pipelines.checkin as ck

    orig = ck.ingest_answers
    with st.lock():  # the nightly job holds the writer lock
        ck_calls = []
        ck.ingest_answers = lambda *a, **k: ck_calls.append(1) or orig(*a, **{**k, "lock_timeout_s": 0.2})
        try:
            import pipelines.checkin_app as app_mod

            app_mod.ingest_answers = ck.ingest_answers
            r = client.post(f"/c/ana/{token}", content=good_form(), headers=FORM_HEADERS)
        finally:
            ck.ingest_answers = orig
            app_mod.ingest_answers = orig
    assert r.status_code == 200 and ck_calls
    assert Store(store_root).read_table("wellness").is_empty()
    s = ingest_paths(Store(store_root), [inbox_dir(store_root)], pool=False)  # what the nightly run does
    assert s.ingested == 1 and Store(store_root).read_table("wellness").height == 1


# ------------------------------------------------------------------ CSV import
COLUMNS = {
    "athlete_id": "Your ID",
    "time": "Timestamp",
    "back_pain_0_10": "Back pain (0-10)",
    "back_pain_area": "Where",
    "soreness_0_10": "Soreness",
    "sleep_quality_1_5": "Sleep",
    "session_minutes": "Minutes",
    "session_rpe": "RPE",
    "red_flag.leg_weakness": "Legs weak?",
    "red_flag.bladder_bowel": "Bladder?",
}
FORM_CSV = (
    "Timestamp,Your ID,Back pain (0-10),Where,Soreness,Sleep,Minutes,RPE,Legs weak?,Bladder?\n"
    "10/11/2026 07:12:00,ana,5,Lower back,4,3,60,7,No,No\n"
    "10/11/2026 07:40:00,ben,0,,2,4,,,Yes,no\n"
)


def read_csv(text: str, **kw):
    return read_form_csv(
        text.encode(),
        name="form.csv",
        columns=kw.get("columns", COLUMNS),
        time_format="%d/%m/%Y %H:%M:%S",
        true_words=["yes"],
        tz_for=lambda a: "Europe/Berlin",
        athletes=["ana", "ben"],
    )


def test_csv_without_red_flag_columns_leaves_red_flag_unknown(tmp_path):
    cols = {k: v for k, v in COLUMNS.items() if not k.startswith("red_flag.")}
    (a, b) = read_csv(FORM_CSV, columns=cols)
    assert a["red_flags"] is None  # not asked: unknown, never an explicit "no"
    p = write_answer_file(tmp_path, [a, b], folder="_import", name="x.checkin.json", team=True)
    w = read(p, ReadContext()).wellness
    assert w["red_flag"].to_list() == [None, None] and w["red_flags"].to_list() == [None, None]


def test_csv_import_maps_columns():
    a, b = read_csv(FORM_CSV)
    assert (a["athlete_id"], a["date"], a["back_pain_0_10"], a["back_pain_area"], a["red_flags"]) == (
        "ana",
        "2026-11-10",
        5,
        "lower_back",
        [],
    )
    assert a["reported_utc"] == "2026-11-10T06:12:00Z"  # 07:12 in Berlin
    assert a["sessions"] == [
        {"start_utc": "2026-11-09T11:00:00Z", "local_date": "2026-11-09", "sport": "training", "minutes": 60, "rpe": 7}
    ]
    assert b["red_flags"] == ["leg_weakness"] and b["sessions"] == [] and b["back_pain_area"] is None


@pytest.mark.parametrize(
    "row,where",
    [
        ("10/11/2026 07:12:00,ana,12,Lower back,4,3,60,7,No,No", "line 2, column 'Back pain (0-10)': 12 is outside"),
        ("10/11/2026 07:12:00,ana,3,Knee,4,3,60,7,No,No", "line 2, column 'Where': 'Knee' is not one of"),
        ("10/11/2026 07:12:00,zed,3,Neck,4,3,60,7,No,No", "line 2, column 'Your ID': unknown athlete id 'zed'"),
        ("2026-11-10,ana,3,Neck,4,3,60,7,No,No", "line 2, column 'Timestamp'"),
        ("10/11/2026 07:12:00,ana,3,Neck,4,3,60,,No,No", "line 2, column 'RPE': give both"),
        ("10/11/2026 07:12:00,ana,3,Neck,4,3,60,7,maybe,No", "line 2, column 'Legs weak?': 'maybe' is neither"),
    ],
)
def test_csv_bad_row_names_file_line_and_column(row, where):
    header = FORM_CSV.splitlines()[0]
    with pytest.raises(CheckinError, match="form.csv, " + __import__("re").escape(where)):
        read_csv(header + "\n" + row + "\n")


def test_csv_import_cli_is_idempotent_and_refuses_bad_files(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    cfgp = tmp_path / "strainwatch.toml"
    cols = "\n".join(f'"{k}" = "{v}"' for k, v in COLUMNS.items())
    cfgp.write_text(
        f'[team]\ntimezone = "Europe/Berlin"\n[store]\npath = "{tmp_path / "store"}"\n'
        f'[[athletes]]\nid = "ana"\n[[athletes]]\nid = "ben"\n'
        f'[checkin]\ncsv_time_format = "%d/%m/%Y %H:%M:%S"\n[checkin.csv_columns]\n{cols}\n'
    )
    f = tmp_path / "form.csv"
    f.write_text(FORM_CSV)
    r = CliRunner().invoke(app, ["checkin", "import", str(f), "--config", str(cfgp)])
    assert r.exit_code == 0, r.output
    assert "2 answer(s)" in r.output and "ingested 1 file(s)" in r.output
    w = Store(tmp_path / "store").read_table("wellness").sort("athlete_id")
    assert w["athlete_id"].to_list() == ["ana", "ben"] and w["red_flag"].to_list() == [False, True]
    r = CliRunner().invoke(app, ["checkin", "import", str(f), "--config", str(cfgp)])
    assert r.exit_code == 0 and "ingested 0 file(s)" in r.output  # the same export again: unchanged
    bad = tmp_path / "bad.csv"
    bad.write_text(FORM_CSV.replace(",ana,5,", ",ana,15,"))
    r = CliRunner().invoke(app, ["checkin", "import", str(bad), "--config", str(cfgp)])
    assert r.exit_code == 1 and "line 2" in r.output and "15 is outside" in r.output
    assert len(list(inbox_dir(tmp_path / "store").rglob("*.json"))) == 1  # nothing of the bad file


def test_links_cli_prints_once_and_rotates(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    cfgp = tmp_path / "strainwatch.toml"
    cfgp.write_text(
        f'[store]\npath = "{tmp_path / "store"}"\n[checkin]\nbase_url = "http://10.0.0.5:8765"\n'
        '[[athletes]]\nid = "ana"\n[[athletes]]\nid = "ben"\n'
    )
    r = CliRunner().invoke(app, ["checkin", "links", "--config", str(cfgp)])
    assert r.exit_code == 0, r.output
    lines = dict(line.split("\t") for line in r.output.strip().splitlines())
    assert lines["ana"].startswith("http://10.0.0.5:8765/c/ana/")
    old = lines["ana"].rsplit("/", 1)[1]
    assert verify_token(tmp_path / "store", "ana", old)
    r = CliRunner().invoke(app, ["checkin", "links", "--config", str(cfgp)])
    assert "http" not in r.output and "--rotate ana" in r.output  # a token is printed only when issued
    r = CliRunner().invoke(app, ["checkin", "links", "--rotate", "ana", "--config", str(cfgp)])
    new = dict(line.split("\t") for line in r.output.strip().splitlines())["ana"].rsplit("/", 1)[1]
    assert verify_token(tmp_path / "store", "ana", new) and not verify_token(tmp_path / "store", "ana", old)
    r = CliRunner().invoke(app, ["checkin", "links", "--rotate", "zed", "--config", str(cfgp)])
    assert r.exit_code == 2 and "unknown athlete" in r.output


def test_form_shows_todays_answer_to_change_it(client, store_root):
    token = issue_token(store_root, "ana")
    assert "already answered" not in client.get(f"/c/ana/{token}").text
    client.post(f"/c/ana/{token}", content=good_form(back_pain="3", rf=["trauma"], note="stiff"), headers=FORM_HEADERS)
    html = client.get(f"/c/ana/{token}").text
    assert "already answered today" in html
    assert 'name="back_pain" value="3" required checked' in html
    assert 'value="trauma" checked' in html and ">stiff</textarea>" in html


# ------------------------------------------------------------------ properties

_cell = st.one_of(st.integers(-5, 2000).map(str), st.sampled_from(["", "abc", "3.5", "7,0", " 4 ", "1e1"]))


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pain=_cell,
    sore=_cell,
    sleep=_cell,
    rpe=_cell,
    mins=_cell,
    xr=_cell,
    xm=_cell,
    area=st.sampled_from(["", "lower_back", "neck", "knee"]),
    flags=st.lists(st.sampled_from(["trauma", "leg_weakness", "bogus"]), max_size=3),
)
def test_any_form_is_either_refused_with_messages_or_stored_exactly(
    tmp_path, pain, sore, sleep, rpe, mins, xr, xm, area, flags
):
    """Whatever is posted: errors name fields that were posted, or the answer is in scale and reads back equal."""
    form = FormFields(
        [
            ("back_pain", pain),
            ("soreness", sore),
            ("sleep", sleep),
            ("area", area),
            ("n_dev", "1"),
            ("d0_ref", "2026-11-09T16:30:00Z"),
            ("d0_rpe", rpe),
            ("d0_min", mins),
            ("x0_rpe", xr),
            ("x0_min", xm),
        ]
        + [("rf", f) for f in flags]
    )
    devices = [{"start_utc": "2026-11-09T16:30:00Z", "sport": "running", "minutes": 50, "source": "fit", "rpe": None}]
    ans, errors = parse_form(form, athlete_id="ana", today=TODAY, tz="Europe/Berlin", devices=devices, now_utc=NOW)
    if errors:
        assert ans is None and all(m.strip() for m in errors.values())
        return
    assert 0 <= ans["back_pain_0_10"] <= 10 and 0 <= ans["soreness_0_10"] <= 10 and 1 <= ans["sleep_quality_1_5"] <= 5
    assert all(0 <= s["rpe"] <= 10 and 1 <= s["minutes"] <= 1440 for s in ans["sessions"])
    path = write_answer_file(tmp_path / "st", [ans], folder="ana", name=f"{abs(hash(str(ans)))}.checkin.json")
    r = read(path, ReadContext())
    w = r.wellness.row(0, named=True)
    assert (w["back_pain_0_10"], w["soreness"], w["red_flag"]) == (
        ans["back_pain_0_10"],
        ans["soreness_0_10"],
        bool(ans["red_flags"]),
    )
    assert sorted(r.sessions["load_au"].to_list()) == sorted(float(s["rpe"] * s["minutes"]) for s in ans["sessions"])
