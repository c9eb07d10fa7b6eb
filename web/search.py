"""Archive search: the page (``/search``), the API (``GET /api/v1/search``) and entries' recordings.

Both ask ``services.archive`` with the asker's visible areas, so an officer finds only what their
memberships cover; an entry outside them answers 404, like one that does not exist.
"""

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from domain.errors import InvalidInput
from domain.search import EntryKind
from services import archive as archive_service
from services import auth
from services.runtime import object_store, session
from web.access import session_user
from web.api import ApiUser, _user
from web.app import lang_of, render
from web.area_labels import names_by_code
from web.i18n import VN_TZ
from web.officer_text import known_message, language_name
from web.ranges import ranged_response

router = APIRouter()

Text = Annotated[str, Query(description='Words, "phrases", prefix*; diacritics optional unless exact.')]
Opt = Annotated[str | None, Query()]


def _request(q: str, exact: bool, area: str | None, date_from: str | None, date_to: str | None, lang: str | None,
             priority: str | None, channel: str | None, page: int) -> archive_service.SearchRequest:
    return archive_service.SearchRequest(
        text=q, exact=exact, area=area or None, date_from=archive_service.parse_day(date_from, "from"),
        date_to=archive_service.parse_day(date_to, "to"), language=lang or None, priority=priority or None,
        channel=channel or None, page=page)


def _api_item(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in ("snippet", "moments", "has_recording", "source")}
    out["snippet"] = [{"text": t, "match": hit} for t, hit in item["snippet"]]
    out["source"] = item["source"] if item["kind"] == EntryKind.RECORDING else None
    url = f"/api/v1/archive/entries/{item['id']}/recording" if item["has_recording"] else None
    out["recording_url"] = url
    out["moments"] = [{"start": m["start"], "end": m["end"], "url": f"{url}#t={m['start']}",
                       "snippet": [{"text": t, "match": hit} for t, hit in m["snippet"]]} for m in item["moments"]]
    return out


@router.get("/api/v1/search", tags=["api"])
def api_search(username: ApiUser, q: Text = "", exact: bool = False, area: Opt = None,
               date_from: Annotated[str | None, Query(alias="from")] = None,
               date_to: Annotated[str | None, Query(alias="to")] = None, lang: Opt = None, priority: Opt = None,
               channel: Opt = None, page: Annotated[int, Query(ge=1, le=1000)] = 1) -> dict[str, Any]:
    """Search the archive of broadcasts (texts, summaries, transcripts) within the caller's areas.

    Matching ignores diacritics and case unless ``exact``; ``area`` covers its subtree; ``from``/``to`` are
    days in Vietnam (``2024-03-05``), both included. Each item's ``snippet`` marks the matched words;
    ``moments`` are matches inside a recording, with the second they start at.
    """
    with session() as s:
        user = _user(s, username)
        res = archive_service.search_archive(s, _request(q, exact, area, date_from, date_to, lang, priority,
                                                         channel, page), visible=auth.visible_area_codes(s, user))
    return {"query": res.query.describe(), "exact": res.query.exact, "total": res.total, "more": res.more,
            "page": res.page, "per_page": res.per_page, "items": [_api_item(i) for i in res.items]}


@router.get("/api/v1/archive/entries/{entry_id}/recording", tags=["api"])
def api_recording(request: Request, entry_id: int, username: ApiUser) -> Response:
    """An archive entry's recording (the legacy file, or the bulletin's loudspeaker audio)."""
    with session() as s:
        user = _user(s, username)
        data, media_type = archive_service.entry_recording(s, object_store(), entry_id,
                                                           auth.visible_area_codes(s, user))
    return ranged_response(request, data, media_type, {"Cache-Control": "private, max-age=86400"})


@router.get("/archive/entries/{entry_id}/recording", include_in_schema=False)
def page_recording(request: Request, entry_id: int) -> Response:
    with session() as s:
        user = session_user(request, s)
        data, media_type = archive_service.entry_recording(s, object_store(), entry_id,
                                                           auth.visible_area_codes(s, user))
    return ranged_response(request, data, media_type, {"Cache-Control": "private, max-age=86400"})


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


@router.get("/search", include_in_schema=False)
def search_page(request: Request, q: str = "", exact: str = "", area: str = "", lang: str = "", priority: str = "",
                channel: str = "", page: Annotated[int, Query(ge=1, le=1000)] = 1) -> Response:
    """The search form and one page of results (the dates come as ``from`` and ``to``)."""

    day_from, day_to = request.query_params.get("from", ""), request.query_params.get("to", "")
    form = {"q": q, "exact": bool(exact), "area": area, "from": day_from, "to": day_to, "lang": lang,
            "priority": priority, "channel": channel}
    with session() as s:
        user = session_user(request, s)
        searched = any(v for k, v in form.items() if k != "exact")
        if not searched:
            return render(request, "search.html", form=form, res=None, items=[], error=None)
        try:
            res = archive_service.search_archive(
                s, _request(q, bool(exact), area, day_from, day_to, lang, priority, channel, page),
                visible=auth.visible_area_codes(s, user))
        except InvalidInput as exc:  # the form again, with what was typed and the reason (areas: the officer's words)
            error = known_message(lang_of(request), str(exc)) or str(exc)
            return render(request, "search.html", status_code=422, form=form, res=None, items=[], error=error)
    with session() as s:  # the play counts' areas by name, one lookup for the page
        names = names_by_code(s, [a["code"] for item in res.items for a in item["plays"]["areas"][:5]])
    for item in res.items:
        for a in item["plays"]["areas"]:
            a["name"] = names.get(a["code"], a["code"])
        item["language_name"] = language_name(lang_of(request), str(item.get("language") or ""))
        # an item filed under a unit retired in 2025 shows both names: "Xã Đa Lộc (nay thuộc Xã Châu Thành)"
        item["where"] = ", ".join(item["area_names"])
        item["when"] = datetime.fromisoformat(item["broadcast_at"]).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
        for m in item["moments"]:
            m["clock"] = _clock(m["start"])
        last = item["plays"]["last"]
        item["plays"]["last_vn"] = datetime.fromisoformat(last).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") \
            if last else ""
    base = {k: v for k, v in request.query_params.items() if k not in ("page", "lang")}
    prev_url = f"/search?{urlencode({**base, 'page': page - 1})}" if page > 1 else None
    next_url = f"/search?{urlencode({**base, 'page': page + 1})}" if res.page * res.per_page < res.total else None
    return render(request, "search.html", form=form, res=res, items=res.items, error=None, prev_url=prev_url,
                  next_url=next_url)
