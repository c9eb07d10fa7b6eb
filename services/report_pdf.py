"""The periodic report as PDF (reportlab), laid out like an administrative report: issuing body and national
motto side by side, number and place/date, title, sections with tables and charts, recipients and signature.
Noto Sans is embedded so every Vietnamese letter renders."""

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from domain.errors import InvalidInput
from services import report_charts
from services.caches import CACHES
from services.report_render import (
    RECIPIENT_LINES,
    TEXT,
    VN_TZ,
    Header,
    _period_title,
    charts,
    coverage_map,
    number,
    sections,
)
from services.reports import ReportData


def _fonts() -> tuple[str, str]:
    return CACHES.pdf_fonts.get_or_build(None, _register_fonts)


def _register_fonts() -> tuple[str, str]:
    regular, bold = report_charts.font_file(False), report_charts.font_file(True)
    if regular is None or bold is None:
        raise InvalidInput("thiếu phông chữ Noto Sans (gói fonts-noto-core) để in báo cáo tiếng Việt")
    pdfmetrics.registerFont(TTFont("BantinSans", str(regular)))
    pdfmetrics.registerFont(TTFont("BantinSans-Bold", str(bold)))
    return "BantinSans", "BantinSans-Bold"


def to_pdf(data: ReportData, header: Header, lang: str = "vi") -> bytes:
    regular, bold = _fonts()
    t = TEXT[lang]
    base = ParagraphStyle("b", fontName=regular, fontSize=9.5, leading=12)
    centre = ParagraphStyle("c", parent=base, alignment=TA_CENTER)
    centre_bold = ParagraphStyle("cb", parent=centre, fontName=bold)
    h1 = ParagraphStyle("h1", parent=centre_bold, fontSize=14, leading=18, spaceBefore=8)
    h2 = ParagraphStyle("h2", parent=base, fontName=bold, fontSize=10.5, spaceBefore=10, spaceAfter=4)
    cell = ParagraphStyle("cell", parent=base, fontSize=8, leading=10)

    def p(text: object, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    today = data.generated_at.astimezone(VN_TZ)
    head = Table([[p(header.authority, centre), p(t["motto1"], centre_bold)],
                  [p(header.unit, centre_bold), p(t["motto2"], centre_bold)],
                  [p(t["number"], centre), p(t["place_date"].format(place=header.place, d=today.day, m=today.month,
                                                                    y=today.year), centre)]],
                 colWidths=[75 * mm, 100 * mm])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story: list[object] = [head, Spacer(1, 6 * mm), p(t["title"], h1),
                           p(t["subtitle"].format(period=_period_title(data, lang)), centre_bold),
                           p(t["scope"].format(area=data.area.name, cut=data.cut_off.strftime("%d/%m/%Y"),
                                               at=today.strftime("%H:%M %d/%m/%Y")), centre)]
    images = charts(data, lang)
    for title, heads, rows in sections(data, lang):
        if title == t["chart_days"]:
            continue  # the day-by-day numbers are in the CSV/XLSX; the PDF shows them as a chart
        story.append(p(title, h2))
        if rows:
            body = [[p(h, ParagraphStyle("hd", parent=cell, fontName=bold)) for h in heads]]
            # Text wraps (Paragraph); figures are plain strings, which reportlab lays out far faster.
            body += [[p(v, cell) if isinstance(v, str) else number(v, lang) for v in r] for r in rows]
            width = 175 * mm
            first = 0.6 if len(heads) == 2 else 0.4 if len(heads) <= 4 else 0.28
            cols = [width * first] + [width * (1 - first) / (len(heads) - 1)] * (len(heads) - 1)
            table = Table(body, colWidths=cols, repeatRows=1)
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                                       ("FONTNAME", (0, 1), (-1, -1), regular), ("FONTSIZE", (0, 1), (-1, -1), 8),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story.append(table)
        if title == t["s1"] and images:
            story.append(Spacer(1, 3 * mm))
            story.append(_image(images[0]))
        if title == t["s4"]:
            story += [_image(coverage_map(data, lang))] + [_image(img) for img in images[1:3]]
        if title == t["s5"] and not data.emergency_latency_s:
            story.append(p(t["no_emergency"]))
        if title == t["s5"] and data.emergency_latency_s and len(images) > 3:
            story.append(_image(images[-1]))
    sign = Table([[p(t["recipients"], ParagraphStyle("r", parent=base, fontName=bold)), p(t["signer"], centre_bold)],
                  [Paragraph("<br/>".join(escape(x) for x in RECIPIENT_LINES[lang]), base),
                   p(t["sign_note"], centre)]], colWidths=[85 * mm, 90 * mm])
    story += [Spacer(1, 8 * mm), KeepTogether(sign)]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{t['title']} {data.period.label} {data.area.name}",
                            author=header.unit or header.authority)
    doc.build(story)
    return buf.getvalue()


def _image(png: bytes) -> Image:
    img = Image(io.BytesIO(png))
    scale = min(1.0, (170 * mm) / img.drawWidth, (200 * mm) / img.drawHeight)
    img.drawWidth, img.drawHeight = img.drawWidth * scale, img.drawHeight * scale
    return img
