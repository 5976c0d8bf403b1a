"""The check-in web app: one phone screen per athlete per morning (FastAPI + Jinja2).

``strainwatch checkin serve`` runs :func:`create_app` under uvicorn. Routes:

``GET /c/<athlete_id>/<token>``
    The form for today (the athlete's time zone): back pain 0-10 and where,
    general soreness 0-10, sleep quality 1-5, yesterday's sessions (pre-filled
    from the device sessions in the store) with minutes and RPE 0-10, the
    red-flag questions (:data:`connectors.checkin.RED_FLAG_QUESTIONS`) and a
    note. Ticking a red flag shows at once what to do (emergency or soon), by
    CSS alone (``:has``); the page has no script and loads nothing external.
``POST /c/<athlete_id>/<token>``
    Validates (422 and the form again with a message per question when an
    answer is outside its scale), writes the answer file atomically, ingests
    it (:mod:`pipelines.checkin`) and shows the confirmation, with the red-flag
    advice again when a flag was ticked.
``GET /healthz``
    ``ok``, for a service monitor.

Anything else, a missing or wrong token, or a valid token with another
athlete's id, gets 403 (or 404) with the same message, so a response never
tells whether an athlete id exists. Tokens are in the URL path: run behind a
TLS reverse proxy when the network is not trusted; uvicorn's access log is
off so links are not written to logs. Responses are ``no-store`` with a
content security policy that forbids scripts and any external resource.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from connectors.checkin import AREAS, EMERGENCY_FLAGS, RED_FLAG_QUESTIONS, SLEEP_QUALITY
from models.vocab import DISCLAIMER
from pipelines.checkin import (
    EXTRA_SESSION_ROWS,
    CheckinError,
    FormFields,
    device_sessions,
    ingest_answers,
    parse_form,
    today_answer,
    verify_token,
    write_answer_file,
)

__all__ = ["create_app", "ADVICE"]

TEMPLATES = Path(__file__).with_name("checkin_templates")

#: What to do after a red-flag answer (domain brief section 5; NICE NG59).
ADVICE = {
    "emergency": (
        "Get medical help today: call your emergency number (112 / 999 / 911) or go to an emergency "
        "department now, and say you have back pain with these symptoms. Do not train."
    ),
    "soon": (
        "See a doctor or physiotherapist in the next few days (sooner if it gets worse), and do not "
        "train through the pain until you have."
    ),
}

#: How a session's source is named to the athlete ("from your ... data").
SOURCE_LABELS = {
    "fit": "watch",
    "generic_csv": "uploaded",
    "apple_health": "Apple Health",
    "garmin_csv": "Garmin",
    "garmin_json": "Garmin",
    "strava": "Strava",
    "fitbit": "Fitbit",
    "oura": "Oura",
    "whoop": "WHOOP",
}

#: Largest form body accepted [bytes]; a real answer is under 2 kB.
MAX_BODY = 64 * 1024

REFUSED = "This check-in link is not valid. Ask your coach for your personal link."

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _fmt_day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b %Y}"


def create_app(store_root: str | Path, cfg=None, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The check-in app over the store at ``store_root``.

    Parameters
    ----------
    cfg : pipelines.config.Config, optional
        Roster names and time zones (default: no roster, UTC).
    clock : callable, optional
        ``clock() -> aware datetime``; default the system clock (tests pass their own).
    """
    import features.merge  # noqa: F401
    import pipelines.ingest  # noqa: F401 - imported now, so the first submit is as quick as the others
    from pipelines.config import Config

    cfg = cfg or Config()
    root = Path(store_root)
    now = clock or (lambda: datetime.now(timezone.utc))
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["j2", "html"]))
    app = FastAPI(title="strainwatch check-in", docs_url=None, redoc_url=None, openapi_url=None)

    def page(template: str, status: int = 200, **ctx) -> HTMLResponse:
        html = env.get_template(template).render(disclaimer=DISCLAIMER, advice=ADVICE, **ctx)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def refused(status: int = 403) -> HTMLResponse:
        return page("refused.html.j2", status, message=REFUSED)

    def context(athlete_id: str):
        tz = cfg.tz_for(athlete_id)
        t = now().astimezone(ZoneInfo(tz))
        today = t.date()
        devices = device_sessions(root, athlete_id, today - timedelta(days=1))
        for d in devices:
            start = datetime.fromisoformat(d["start_utc"].replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
            d["start_local"] = f"{start:%H:%M}"
            d["source_label"] = SOURCE_LABELS.get(d["source"], d["source"].replace("_", " "))
        a = cfg.athlete(athlete_id)
        return tz, today, devices, (a.name if a and a.name else None)

    def form_page(athlete_id: str, values: dict, errors: dict, status: int = 200) -> HTMLResponse:
        tz, today, devices, name = context(athlete_id)
        v = dict(values)
        answered = False
        if not values:  # answered already today: show that answer, to change it
            prev = today_answer(root, athlete_id, today)
            if prev:
                answered = True
                v.update(prev)
        v.setdefault("rf", [])
        for k, d in enumerate(devices):
            v.setdefault(f"d{k}_min", d["minutes"] or "")
            v.setdefault(f"d{k}_rpe", "" if d["rpe"] is None else d["rpe"])
        return page(
            "form.html.j2",
            status,
            v=v,
            errors=errors,
            name=name,
            today_txt=_fmt_day(today),
            yesterday_txt=_fmt_day(today - timedelta(days=1)),
            devices=devices,
            extra_rows=EXTRA_SESSION_ROWS,
            areas=AREAS,
            sleep_labels=SLEEP_QUALITY,
            flags=list(RED_FLAG_QUESTIONS.items()),
            answered=answered,
        )

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/c/{athlete_id}/{token}")
    def show(athlete_id: str, token: str):
        if not verify_token(root, athlete_id, token):
            return refused()
        return form_page(athlete_id, {}, {})

    @app.post("/c/{athlete_id}/{token}")
    async def submit(athlete_id: str, token: str, request: Request):
        if not verify_token(root, athlete_id, token):
            return refused()
        body = b""
        async for chunk in request.stream():  # read at most MAX_BODY bytes, whatever Content-Length says
            body += chunk
            if len(body) > MAX_BODY:
                return refused(413)
        form = FormFields.from_body(body)
        tz, today, devices, name = context(athlete_id)
        answer, errors = parse_form(form, athlete_id=athlete_id, today=today, tz=tz, devices=devices, now_utc=now())
        if errors:
            values = dict(form)
            values["rf"] = form.getlist("rf")
            return form_page(athlete_id, values, errors, status=422)
        try:
            path = write_answer_file(root, [answer], folder=athlete_id)
        except (OSError, CheckinError, ValueError) as err:  # disk full, read-only store ...
            return page(
                "refused.html.j2",
                503,
                message=f"Your answer could not be saved ({type(err).__name__}); please try again "
                "in a minute or tell your coach.",
            )
        try:
            ingest_answers(root, [path], tz_for=cfg.tz_for)
        except Exception:  # noqa: BLE001 - the answer is safe in the inbox; the nightly run ingests it
            pass
        flags = set(answer["red_flags"] or [])
        return page(
            "done.html.j2",
            name=name,
            today_txt=_fmt_day(today),
            sessions=len(answer["sessions"]),
            emergency=bool(flags & EMERGENCY_FLAGS),
            soon=bool(flags - EMERGENCY_FLAGS),
        )

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def other(rest: str):
        return refused(404 if not rest.startswith("c/") else 403)

    return app
