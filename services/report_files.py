"""Generating, storing and listing periodic report files (the CLI, the web app and the reports flow all call
these): figures from ``services.reports``, rendered by ``services.report_render``/``report_pdf``, kept in the
object store, recorded in ``reports`` and audited."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from domain.reports import parse_period
from services import auth, report_render, reports
from services.report_render import Header
from settings import get_settings
from storage.models_reports import ReportRecord
from storage.objects import ObjectStore
from storage.repositories import audit, users
from storage.repositories import reports as repo

FORMATS = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_PREFIXES = ("Tỉnh ", "Thành phố ", "Huyện ", "Thị xã ", "Quận ", "Xã ", "Phường ", "Thị trấn ", "Đặc khu ")


def header_for(area_name: str) -> Header:
    settings = get_settings()
    place = area_name
    for prefix in _PREFIXES:
        if place.startswith(prefix):
            place = place[len(prefix):]
            break
    return Header(settings.report_authority or f"ỦY BAN NHÂN DÂN {area_name.upper()}",
                  settings.report_unit or "HỆ THỐNG THÔNG TIN NGUỒN", place)


def render(data: reports.ReportData, fmt: str, lang: str = "vi") -> bytes:
    """The report file's bytes in ``fmt`` (csv, xlsx, pdf).

    Raises:
        InvalidInput: an unknown format.
    """
    header = header_for(data.area.name)
    if fmt == "csv":
        return report_render.to_csv(data, lang)
    if fmt == "xlsx":
        return report_render.to_xlsx(data, header, lang)
    if fmt == "pdf":
        from services.report_pdf import to_pdf

        return to_pdf(data, header, lang)
    raise InvalidInput(f"định dạng '{fmt}' không hỗ trợ; chọn một trong: {', '.join(FORMATS)}")


def _check_view(s: Session, username: str, area_code: str) -> None:
    user = users.get_user(s, username)
    if area_code not in auth.area_tree(s):
        raise NotFound(f"không có địa bàn mã '{area_code}'")
    visible = auth.visible_area_codes(s, user)
    if visible is not None and area_code not in visible:
        raise NotFound(f"không có địa bàn mã '{area_code}' trong phạm vi của bạn")


def generate(s: Session, store: ObjectStore, *, period: str, area_code: str, fmt: str, actor: str,
             now: datetime, lang: str = "vi", check_user: bool = True) -> ReportRecord:
    """Compute, render and store one report; returns its record.

    Raises:
        InvalidInput: bad period (unreadable, reversed, not begun) or format.
        NotFound: unknown area or user, or an area outside the user's reach.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"định dạng '{fmt}' không hỗ trợ; chọn một trong: {', '.join(FORMATS)}")
    if check_user:
        _check_view(s, actor, area_code)
    p = parse_period(period, today=(now + repo.VN_OFFSET).date())
    data = reports.compute(s, p, area_code, now=now)
    blob = render(data, fmt, lang)
    stored = store.put_bytes(blob, ext=fmt, media_type=FORMATS[fmt])
    rec = repo.add_report(s, period=p.label, kind=p.kind.value, area_code=area_code, format=fmt, key=stored.key,
                          sha256=stored.sha256, size=stored.size, cut_off=data.cut_off.isoformat(),
                          figures={k: v for k, v in data.headline.items()}, created_by=actor, created_at=now)
    audit.record(s, actor=actor, action="report.generated", entity="report", entity_id=rec.id, period=p.label,
                 area_code=area_code, format=fmt, sha256=stored.sha256)
    return rec


@dataclass(frozen=True, slots=True)
class ReportFile:
    data: bytes
    media_type: str
    filename: str


def visible_reports(s: Session, username: str, limit: int = 200) -> list[ReportRecord]:
    user = users.get_user(s, username)
    visible = auth.visible_area_codes(s, user)
    return repo.list_reports(s, area_codes=visible, limit=limit)


def open_report(s: Session, store: ObjectStore, report_id: int, username: str) -> ReportFile:
    """A stored report's bytes for a user who may see its area.

    Raises:
        NotFound: no such report, or outside the user's reach.
    """
    rec = repo.get_report(s, report_id)
    if rec is None:
        raise NotFound(f"không có báo cáo số {report_id}")
    _check_view(s, username, rec.area_code)
    return ReportFile(store.get_bytes(rec.key), FORMATS[rec.format],
                      f"bao-cao-{rec.area_code}-{rec.period.replace('..', '_')}.{rec.format}")
