"""Periodic report files: CSV, XLSX (openpyxl, with native charts) and PDF (reportlab, with matplotlib charts),
in Vietnamese (English available) under the administrative header an official report carries (national motto,
issuing body, number, place and date, title, recipients and signature block)."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.languages import LANGUAGES
from domain.reports import PeriodKind
from services.reports import ReportData

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LEVELS = {"vi": {"province": "Tỉnh", "district": "Huyện", "commune": "Xã", "": "—"},
          "en": {"province": "Province", "district": "District", "commune": "Commune", "": "—"}}
PRIORITIES = {"vi": {"thuong": "Thường", "uu_tien": "Ưu tiên", "khan_cap": "Khẩn cấp"},
              "en": {"thuong": "Normal", "uu_tien": "Priority", "khan_cap": "Emergency"}}
TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "motto1": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "motto2": "Độc lập - Tự do - Hạnh phúc",
        "number": "Số:\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-TTCS", "title": "BÁO CÁO",
        "subtitle": "Kết quả hoạt động thông tin cơ sở trên hệ thống thông tin nguồn {period}",
        "scope": "Địa bàn: {area}. Số liệu tính đến hết ngày {cut}. Lập tự động lúc {at}.",
        "s1": "I. SỐ LIỆU CHÍNH", "s2": "II. BẢN TIN THEO MỨC ĐỘ, NGÔN NGỮ VÀ CẤP BAN HÀNH",
        "s2_lang": "Lượt phát theo ngôn ngữ (bản tin phát hành trong kỳ)",
        "device_plays": "Lượt thiết bị phát (thiết bị × bản tin)",
        "s3": "III. ĐỘ PHỦ TỪNG BẢN TIN", "s4": "IV. THEO XÃ, PHƯỜNG", "s5": "V. TIN KHẨN CẤP",
        "s6": "VI. TIẾP NHẬN, TRẢ LỜI PHẢN ÁNH CỦA NGƯỜI DÂN",
        "bulletins": "Bản tin phát hành", "bulletins_aired": "Bản tin đã phát trên loa",
        "communes": "Số xã, phường", "communes_with_devices": "Xã, phường có thiết bị",
        "devices": "Số thiết bị (cụm loa, bảng tin)", "commune_coverage_pct": "Tỷ lệ xã đã phát (%)",
        "device_coverage_pct": "Tỷ lệ thiết bị đã phát (%)", "on_time_pct": "Tỷ lệ phát đúng hạn (%)",
        "minutes_aired": "Tổng số phút phát", "plays": "Tổng lượt phát",
        "live_sessions": "Buổi phát trực tiếp", "live_emergency": "Buổi phát trực tiếp khẩn cấp",
        "live_sessions_aired": "Buổi phát trực tiếp đã lên loa",
        "live_device_plays": "Lượt thiết bị phát trực tiếp (thiết bị × buổi)",
        "live_minutes": "Số phút phát trực tiếp trên loa",
        "emergency_p50_s": "Tin khẩn: thời gian lên sóng, trung vị (giây)",
        "emergency_p90_s": "Tin khẩn: thời gian lên sóng, 90% (giây)",
        "emergency_ack_p50_s": "Tin khẩn: thời gian thiết bị xác nhận, trung vị (giây)",
        "emergency_ack_p90_s": "Tin khẩn: thời gian thiết bị xác nhận, 90% (giây)",
        "uptime_pct": "Thời gian hoạt động thiết bị (%)",
        "figure": "Chỉ tiêu", "value": "Số liệu", "group": "Nhóm", "produced": "Phát hành", "aired": "Đã phát",
        "priority": "Mức độ", "language": "Ngôn ngữ", "level": "Cấp ban hành", "bulletin": "Bản tin",
        "published": "Phát hành lúc", "commune": "Xã, phường", "parent": "Thuộc", "minutes": "Số phút phát",
        "uptime": "Hoạt động (%)", "on_time": "Đúng hạn", "day": "Ngày",
        "reaching": "Bản tin gửi đến", "aired_pct": "Bản tin đã phát (%)",
        "chart_map": "Tỷ lệ bản tin đã phát theo xã, phường (%)", "no_devices": "chưa có thiết bị",
        "received": "Phản ánh tiếp nhận", "answered": "Đã trả lời", "answered_on_time": "Trả lời đúng hạn",
        "fb_on_time_pct": "Tỷ lệ trả lời đúng hạn (%)", "overdue": "Quá hạn chưa trả lời",
        "fb_median_hours": "Thời gian trả lời trung vị (giờ)",
        "chart_days": "Lượt phát theo ngày", "chart_minutes": "Số phút phát theo xã, phường",
        "chart_uptime": "Thời gian hoạt động thiết bị theo xã, phường (%)",
        "chart_latency": "Thời gian từ phát hành đến khi phát (tin khẩn cấp)", "seconds": "giây",
        "no_emergency": "Không có tin khẩn cấp được phát trong kỳ.",
        "recipients": "Nơi nhận:",
        "signer": "NGƯỜI LẬP BÁO CÁO", "sign_note": "(Ký, ghi rõ họ tên)", "na": "—",
        "place_date": "{place}, ngày {d:02d} tháng {m:02d} năm {y}",
    },
    "en": {
        "motto1": "SOCIALIST REPUBLIC OF VIET NAM", "motto2": "Independence - Freedom - Happiness",
        "number": "No.:\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-TTCS", "title": "REPORT",
        "subtitle": "Grassroots information on the source information system, {period}",
        "scope": "Area: {area}. Data up to the end of {cut}. Generated at {at}.",
        "s1": "I. HEADLINE FIGURES", "s2": "II. BULLETINS BY PRIORITY, LANGUAGE AND ISSUING LEVEL",
        "s2_lang": "Plays by language (bulletins published in the period)",
        "device_plays": "Device airings (devices × bulletins)",
        "s3": "III. COVERAGE OF EACH BULLETIN", "s4": "IV. BY COMMUNE", "s5": "V. EMERGENCIES",
        "s6": "VI. CITIZEN FEEDBACK",
        "bulletins": "Bulletins published", "bulletins_aired": "Bulletins aired",
        "communes": "Communes", "communes_with_devices": "Communes with devices",
        "devices": "Devices (speakers, boards)", "commune_coverage_pct": "Communes that aired (%)",
        "device_coverage_pct": "Devices that aired (%)", "on_time_pct": "Aired on time (%)",
        "minutes_aired": "Minutes aired", "plays": "Plays",
        "live_sessions": "Live sessions", "live_emergency": "Emergency live sessions",
        "live_sessions_aired": "Live sessions aired on loudspeakers",
        "live_device_plays": "Live device airings (devices × sessions)",
        "live_minutes": "Minutes of live broadcast on loudspeakers",
        "emergency_p50_s": "Emergency time to air, median (s)", "emergency_p90_s": "Emergency time to air, p90 (s)",
        "emergency_ack_p50_s": "Emergency time to acknowledge, median (s)",
        "emergency_ack_p90_s": "Emergency time to acknowledge, p90 (s)",
        "uptime_pct": "Device uptime (%)",
        "figure": "Figure", "value": "Value", "group": "Group", "produced": "Published", "aired": "Aired",
        "priority": "Priority", "language": "Language", "level": "Issuing level", "bulletin": "Bulletin",
        "published": "Published at", "commune": "Commune", "parent": "Within", "minutes": "Minutes aired",
        "uptime": "Uptime (%)", "on_time": "On time", "day": "Day",
        "reaching": "Bulletins sent", "aired_pct": "Bulletins aired (%)",
        "chart_map": "Share of bulletins aired, by commune (%)", "no_devices": "no devices",
        "received": "Feedback received", "answered": "Answered", "answered_on_time": "Answered on time",
        "fb_on_time_pct": "Answered on time (%)", "overdue": "Overdue, unanswered",
        "fb_median_hours": "Median time to answer (hours)",
        "chart_days": "Plays per day", "chart_minutes": "Minutes aired per commune",
        "chart_uptime": "Device uptime per commune (%)", "chart_latency": "Emergency time to air",
        "seconds": "seconds", "no_emergency": "No emergency was aired in the period.",
        "recipients": "Recipients:",
        "signer": "PREPARED BY", "sign_note": "(Signature, full name)", "na": "—",
        "place_date": "{place}, {y}-{m:02d}-{d:02d}",
    },
}
RECIPIENT_LINES = {"vi": ("- Như trên;", "- Lưu: VT."), "en": ("- As above;", "- Archive.")}
HEADLINE_KEYS = ("bulletins", "bulletins_aired", "communes", "communes_with_devices", "devices",
                 "commune_coverage_pct", "device_coverage_pct", "on_time_pct", "plays", "minutes_aired",
                 "emergency_p50_s", "emergency_p90_s", "uptime_pct", "live_sessions", "live_emergency",
                 "live_sessions_aired", "live_device_plays", "live_minutes")


@dataclass(frozen=True, slots=True)
class Header:
    authority: str  # e.g. ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG
    unit: str  # e.g. SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH
    place: str  # e.g. Tuyên Quang


def number(value: object, lang: str = "vi") -> str:
    """A figure as officials write it: 1.234 and 87,5 in Vietnamese; 1,234 and 87.5 in English."""
    if value is None:
        return TEXT[lang]["na"]
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.1f}"
    else:
        text = f"{int(value):,}" if isinstance(value, int | float) else str(value)
    return text.translate(str.maketrans(",.", ".,")) if lang == "vi" else text


def language_name(code: str, lang: str = "vi") -> str:
    """``km`` -> ``Tiếng Khmer`` (or ``Khmer``); an unknown code as it is."""
    known = LANGUAGES.get(code)
    return code if known is None else known.name_vi if lang == "vi" else known.name_en


def _period_title(data: ReportData, lang: str) -> str:
    if lang == "vi":
        return data.period.title_vi()
    return data.period.label if data.period.kind is not PeriodKind.RANGE else data.period.label.replace("..", " to ")


def sections(data: ReportData, lang: str = "vi") -> list[tuple[str, list[str], list[list[object]]]]:
    """The report as titled tables (title, column heads, rows): the common source of every format."""
    t, pr, lv = TEXT[lang], PRIORITIES[lang], LEVELS[lang]
    out: list[tuple[str, list[str], list[list[object]]]] = [
        (t["s1"], [t["figure"], t["value"]], [[t[k], data.headline.get(k)] for k in HEADLINE_KEYS])]
    groups = ([[t["priority"], pr.get(k, k), n, a] for k, (n, a) in sorted(data.by_priority.items())]
              + [[t["language"], language_name(k, lang), n, a] for k, (n, a) in sorted(data.by_language.items())]
              + [[t["level"], lv.get(k, k), n, a] for k, (n, a) in sorted(data.by_level.items())])
    out.append((t["s2"], [t["group"], "", t["produced"], t["aired"]], groups))
    out.append((t["s2_lang"], [t["language"], t["plays"], t["device_plays"], t["minutes"]],
                [[language_name(code, lang), plays, devices, minutes]
                 for code, (plays, devices, minutes) in data.language_plays.items()]))
    out.append((t["s3"], [t["bulletin"], t["priority"], t["published"], t["communes"], t["commune_coverage_pct"],
                          t["devices"], t["device_coverage_pct"], t["on_time"]],
                [[b.title, pr.get(b.priority, b.priority), _when(b.published_at),
                  f"{b.communes_played}/{b.communes}",
                  round(100 * b.communes_played / b.communes, 1) if b.communes else None,
                  f"{b.devices_played}/{b.devices}",
                  round(100 * b.devices_played / b.devices, 1) if b.devices else None, b.on_time]
                 for b in data.bulletins]))
    out.append((t["s4"], [t["commune"], t["parent"], t["devices"], t["plays"], t["minutes"], t["uptime"],
                          t["reaching"], t["aired_pct"]],
                [[c.name, c.parent, c.devices, c.plays, c.minutes, c.uptime_pct, c.bulletins, c.aired_pct]
                 for c in data.communes]))
    out.append((t["s5"], [t["figure"], t["value"]],
                [[t[k], data.headline.get(k)] for k in ("emergency_p50_s", "emergency_p90_s", "emergency_ack_p50_s",
                                                         "emergency_ack_p90_s")] + [
                 [t["plays"], len(data.emergency_latency_s)]]))
    fb = data.feedback
    out.append((t["s6"], [t["figure"], t["value"]],
                [[t[k], fb.get(k)] for k in ("received", "answered", "answered_on_time", "overdue")]
                + [[t["fb_on_time_pct"], fb.get("on_time_pct")], [t["fb_median_hours"], fb.get("median_hours")]]))
    out.append((t["chart_days"], [t["day"], t["plays"]], [[d, n] for d, n in data.plays_per_day]))
    return out


def _when(at: datetime) -> str:
    return at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def to_csv(data: ReportData, lang: str = "vi") -> bytes:
    """One CSV with each section under its title (UTF-8 with BOM, so spreadsheet programs read the accents)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([TEXT[lang]["title"], TEXT[lang]["subtitle"].format(period=_period_title(data, lang))])
    w.writerow([data.area.name, data.period.label, data.cut_off.isoformat()])
    for title, heads, rows in sections(data, lang):
        w.writerow([])
        w.writerow([title])
        w.writerow(heads)
        w.writerows([["" if v is None else v for v in r] for r in rows])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(data: ReportData, header: Header, lang: str = "vi") -> bytes:
    """A workbook: one sheet per section, the header on the first, native charts for plays per day and minutes
    per commune."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font

    t = TEXT[lang]
    wb = Workbook()
    first = True
    for n, (title, heads, rows) in enumerate(sections(data, lang)):
        ws = wb.active if first else wb.create_sheet()
        ws.title = f"{n + 1}. {title.split('. ', 1)[-1]}"[:31].replace("/", "-").replace(":", "")
        top = 1
        if first:
            for r, (text, bold) in enumerate([(header.authority, False), (header.unit, True), (t["motto1"], True),
                                              (t["motto2"], False), (t["title"], True),
                                              (t["subtitle"].format(period=_period_title(data, lang)), False),
                                              (t["scope"].format(area=data.area.name, cut=data.cut_off.strftime(
                                                  "%d/%m/%Y"), at=_when(data.generated_at)), False)], start=1):
                ws.cell(r, 1, text).font = Font(bold=bold)
            top = 9
            first = False
        ws.cell(top, 1, title).font = Font(bold=True)
        for c, head in enumerate(heads, start=1):
            ws.cell(top + 1, c, head).font = Font(bold=True)
            ws.cell(top + 1, c).alignment = Alignment(wrap_text=True)
        for r, row in enumerate(rows, start=top + 2):
            for c, v in enumerate(row, start=1):
                ws.cell(r, c, v)
        ws.column_dimensions["A"].width = 48
        if rows and title in (t["chart_days"], t["s4"]):
            chart = BarChart()
            chart.title = t["chart_days"] if title == t["chart_days"] else t["chart_minutes"]
            col = 2 if title == t["chart_days"] else 5
            values = Reference(ws, min_col=col, min_row=top + 1, max_row=top + 1 + len(rows))
            chart.add_data(values, titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=top + 2, max_row=top + 1 + len(rows)))
            chart.width, chart.height = 22, 10
            ws.add_chart(chart, f"{'D' if col == 2 else 'H'}{top}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def coverage_map(data: ReportData, lang: str = "vi") -> bytes:
    """Communes as tiles grouped by their parent, coloured by the share of the period's bulletins they aired."""
    from services import report_charts  # matplotlib: only when a chart is drawn (not for every CLI command)

    groups: dict[str, list[tuple[str, float | None]]] = {}
    for c in data.communes:
        groups.setdefault(c.parent or data.area.name, []).append((c.name, c.aired_pct))
    return report_charts.coverage_grid(list(groups.items()), title=TEXT[lang]["chart_map"],
                                       no_devices=TEXT[lang]["no_devices"])


def charts(data: ReportData, lang: str = "vi") -> list[bytes]:
    """The report's charts as PNG: plays per day, minutes per commune, uptime per commune, emergency latency."""
    from services import report_charts

    t = TEXT[lang]
    days = [report_charts.day_label(d) for d, _ in data.plays_per_day]
    out = [report_charts.bars(days, [n for _, n in data.plays_per_day], title=t["chart_days"], xlabel=t["plays"])]
    busiest = sorted(data.communes, key=lambda c: -c.minutes)
    out.append(report_charts.bars([c.name for c in busiest], [c.minutes for c in busiest],
                                  title=t["chart_minutes"], xlabel=t["minutes"], horizontal=True))
    up = sorted((c for c in data.communes if c.uptime_pct is not None), key=lambda c: c.uptime_pct or 0)
    if up:
        out.append(report_charts.bars([c.name for c in up], [c.uptime_pct or 0 for c in up],
                                      title=t["chart_uptime"], xlabel="%", horizontal=True))
    if data.emergency_latency_s:
        out.append(report_charts.histogram(list(data.emergency_latency_s), title=t["chart_latency"],
                                           xlabel=t["seconds"]))
    return out
