"""Pages for operations: the dashboard per area (province -> commune -> device -> play log), proof of play per
bulletin, charts rendered server-side (PNG), and the periodic reports list with on-demand generation."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError, NotFound
from domain.reports import descendants
from services import auth, coverage, dashboard, dashboard_roles, report_charts, report_files, rollups
from services.feedback_config import load_config
from services.report_render import language_name
from services.rollups import Thresholds
from services.runtime import object_store, session
from storage.repositories import reports as repo
from web.access import package_areas, session_user, visible
from web.app import flash, lang_of, render
from web.area_labels import names_by_code
from web.area_picker import area_code
from web.feedback import day as day_label
from web.i18n import VN_TZ, translate
from web.pages import checked_form

router = APIRouter(include_in_schema=False)


def _when(value: datetime | None) -> str:
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if value else ""


def _size(n: int | None) -> str:
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    return f"{s // 86400}d {s % 86400 // 3600}h" if s >= 86400 else f"{s // 3600}h {s % 3600 // 60}m"


@router.get("/dashboard")
def dashboard_home(request: Request) -> Response:
    """Open the dashboard on the user's own area (a system-wide user picks a province)."""
    with session() as s:
        user = session_user(request, s)
        home = dashboard.home_area(s, user)
        if home is None:
            provinces = [(c, a.name) for c, a in sorted(auth.area_tree(s).items()) if a.parent_code is None]
            return render(request, "dashboard_pick.html", provinces=provinces)
    return RedirectResponse(f"/dashboard/area/{home}", status_code=303)


@router.get("/dashboard/area/{code}")
def area_page(request: Request, code: str) -> Response:
    now = datetime.now(UTC)
    with session() as s:
        user = session_user(request, s)
        dashboard.may_view(s, user.username, code)
        board = dashboard.build(s, code, now=now, thresholds=Thresholds.from_settings())
        mine = dashboard_roles.panels(s, user.username, code, now=now)
        tree = auth.area_tree(s)
        trail: list[tuple[str, str]] = []
        current: str | None = board.area.parent_code
        while current is not None and current in tree:
            trail.insert(0, (current, tree[current].name))
            current = tree[current].parent_code
    cats = {c.code: c.name(lang_of(request)) for c in load_config().categories} if mine.feedback else {}
    return render(request, "dashboard.html", b=board, p=mine, trail=trail, when=_when, size=_size, day=day_label,
                  cats=cats)


@router.get("/dashboard/area/{code}/plays.png")
def plays_chart(request: Request, code: str) -> Response:
    """Plays per day over the last 30 days in the area (from the daily rollup)."""
    now = datetime.now(UTC)
    with session() as s:
        user = session_user(request, s)
        dashboard.may_view(s, user.username, code)
        tree = auth.area_tree(s)
        inside = descendants(code, {c: a.parent_code for c, a in tree.items()})
        today = (now + repo.VN_OFFSET).date()
        rows = repo.daily_by_area(s, inside, today - timedelta(days=29), today)
    per_day: dict[str, int] = {}
    for _area, day, plays, *_ in rows:
        per_day[day] = per_day.get(day, 0) + int(plays)
    days = [(today - timedelta(days=29 - i)).isoformat() for i in range(30)]
    png = report_charts.bars([report_charts.day_label(d) for d in days], [per_day.get(d, 0) for d in days],
                             title=translate(lang_of(request), "dash_chart_plays"))
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get("/dashboard/device/{device_id}")
def device_page(request: Request, device_id: int) -> Response:
    with session() as s:
        user = session_user(request, s)
        info, plays = dashboard.device_detail(s, device_id, now=datetime.now(UTC))
        dashboard.may_view(s, user.username, info["area_code"])
        area_name = auth.area_tree(s)[info["area_code"]].name
    return render(request, "dashboard_device.html", d=info, plays=plays, area_name=area_name, when=_when,
                  size=_size, duration=_duration)


def _coverage(s: Any, request: Request, package_id: int, within: str | None) -> coverage.Coverage:
    """A bulletin's proof of play for a user who may see it (and the area ``within``, when given)."""
    user = session_user(request, s)
    if not visible(s, user, package_areas(s, package_id) + ([within] if within else [])):
        raise NotFound(f"không có gói tin số {package_id}")
    if within:
        dashboard.may_view(s, user.username, within)
    return coverage.package_coverage(s, package_id, now=datetime.now(UTC), thresholds=Thresholds.from_settings(),
                                     within=within)


@router.get("/dashboard/package/{package_id}")
def coverage_page(request: Request, package_id: int) -> Response:
    within = request.query_params.get("area") or None
    with session() as s:
        cov = _coverage(s, request, package_id, within)
    lat: dict[str, Any] = {"air": cov.latency(cov.time_to_air_s), "ack": cov.latency(cov.time_to_ack_s)}
    return render(request, "dashboard_coverage.html", c=cov, lat=lat, when=_when, within=within or "",
                  language_name=language_name)


@router.get("/dashboard/package/{package_id}/map.png")
def coverage_map(request: Request, package_id: int) -> Response:
    """The communes the bulletin reaches as a tile map, coloured by the share of their devices that played it."""
    within = request.query_params.get("area") or None
    lang = lang_of(request)
    with session() as s:
        tiles = coverage.map_tiles(s, _coverage(s, request, package_id, within), within=within)
    png = report_charts.coverage_grid(tiles, title=translate(lang, "cov_map"),
                                      no_devices=translate(lang, "cov_no_devices"))
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


@router.get("/reports")
def reports_page(request: Request) -> Response:
    with session() as s:
        user = session_user(request, s)
        files = report_files.visible_reports(s, user.username)
        names = names_by_code(s, [r.area_code for r in files])
        rows = [{"id": r.id, "period": r.period, "area_code": r.area_code,
                 "area_name": names.get(r.area_code, r.area_code), "format": r.format, "cut_off": day_label(r.cut_off),
                 "created_at": _when(r.created_at), "created_by": r.created_by, "size": _size(r.size)}
                for r in files]
        home = dashboard.home_area(s, user) or ""
    return render(request, "reports.html", rows=rows, home=home)


@router.post("/reports")
async def reports_generate(request: Request) -> Response:
    """Make a report on demand. The work (seconds for a province's quarter) runs in the thread pool, not on the
    event loop."""
    form = await checked_form(request)
    lang = lang_of(request)

    def work() -> str | None:
        rollups.fold_all(session)  # the play logs that arrived since the flow's last run count too
        with session() as s:
            user = session_user(request, s)
            try:
                report_files.generate(s, object_store(), period=form.get("period", ""),
                                      area_code=area_code(s, form.get("area", "")),  # a code or a name
                                      fmt=form.get("format", "pdf"),
                                      actor=user.username, now=datetime.now(UTC), lang=lang)
            except DomainError as exc:
                return str(exc)
        return None

    error = await run_in_threadpool(work)
    flash(request, "error" if error else "ok", error or translate(lang, "rep_generated"))
    return RedirectResponse("/reports", status_code=303)


@router.get("/reports/{report_id}/download")
def report_download(request: Request, report_id: int) -> Response:
    with session() as s:
        user = session_user(request, s)
        f = report_files.open_report(s, object_store(), report_id, user.username)
    return Response(f.data, media_type=f.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{f.filename}"'})
