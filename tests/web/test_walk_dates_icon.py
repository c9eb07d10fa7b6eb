"""Fixes from the commune officer's walk at 360 px (second part): the site icon, days as dd/mm/yyyy, the dashboard
chart, areas named in the queues."""

import pytest
from fastapi.testclient import TestClient

from tests.web.test_authz import login

pytestmark = pytest.mark.integration


def test_every_page_links_the_site_icon_and_favicon_ico_leads_to_it(client: TestClient) -> None:
    page = client.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    ico = client.get("/favicon.ico")
    assert (ico.status_code, ico.headers["location"]) == (301, "/static/favicon.svg")
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and len(svg.content) < 2000
    login(client, "editor_daloc")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").text


def test_a_plays_chart_with_no_plays_starts_at_zero_with_whole_number_ticks() -> None:
    from services import report_charts

    days = [report_charts.day_label(d) for d in ("2026-11-09", "2026-11-10", "2026-12-08")]
    assert days == ["09/11", "10/11", "08/12"]
    fig = report_charts.bars_figure(days, [0, 0, 0], title="Lượt phát mỗi ngày")
    ax = fig.axes[0]
    assert ax.get_ylim() == (0.0, 1.0)  # was -0.04 .. 0.04
    assert [t.get_text() for t in ax.get_xticklabels()] == ["09/11", "10/11", "08/12"]
    fig.canvas.draw()
    assert [t for t in ax.get_yticks() if 0 <= t <= 1] == [0.0, 1.0]  # no 0.2, 0.4 ... of a play
    busy = report_charts.bars_figure(days, [3, 7, 2], title="Lượt phát mỗi ngày").axes[0]
    assert busy.get_ylim()[0] == 0.0 and busy.get_ylim()[1] >= 7
    assert all(float(t).is_integer() for t in busy.get_yticks())
    minutes = report_charts.bars_figure(["Xã Đa Lộc"], [0.0], title="Phút", horizontal=True).axes[0]
    assert minutes.get_xlim() == (0.0, 1.0)
    assert report_charts.bars(days, [0, 0, 0], title="Lượt phát").startswith(b"\x89PNG")


def test_programmes_reports_and_the_feedback_panel_write_days_as_dd_mm_yyyy(client: TestClient) -> None:
    from datetime import UTC, datetime

    from services import feedback_intake
    from services.runtime import object_store, session
    from storage.repositories import reports

    text = "Đèn đường ấp Phú Hòa bị hỏng hơn một tuần, buổi tối rất tối, đề nghị xã sửa sớm."
    with session() as s:
        fid = feedback_intake.submit(s, object_store(), feedback_intake.Submission(
            area_code="29377", category="infrastructure", text=text),
            now=datetime(2026, 12, 7, 2, 0, tzinfo=UTC)).feedback_id
        reports.add_report(s, period="2026-11", kind="month", area_code="29377", format="pdf", key="r/1.pdf",
                           sha256="0" * 64, size=1000, cut_off="2026-12-07", figures={}, created_by="admin")
    login(client, "admin")
    programmes = client.get("/programs?area=29377&day=2026-12-09").text
    assert 'day=2026-12-08">&larr; 08/12/2026</a>' in programmes
    assert "<strong>Xã Đa Lộc</strong> · 09/12/2026 ·" in programmes
    assert 'day=2026-12-10">10/12/2026 &rarr;</a>' in programmes
    assert "<td>07/12/2026</td>" in client.get("/reports").text
    panel = client.get("/dashboard/area/29377").text
    item = panel[panel.index(f'<a href="/feedback/{fid}">'):]
    item = item[:item.index("</li>")]
    # the category and the first words, then the tracking code and the due date as officers write it
    assert ">Hạ tầng (đường, điện, nước)</a>: Đèn đường ấp Phú Hòa bị hỏng hơn …" in item, item
    assert "· hạn 21/12/2026</span>" in item  # ten working days after Monday 7 December


def test_the_approval_and_feedback_queues_name_the_areas(client: TestClient) -> None:
    from services import feedback_intake
    from services.runtime import object_store, session
    from tests.web.test_authz import make_item

    _, package_id, _ = make_item()
    with session() as s:
        fid = feedback_intake.submit(s, object_store(), feedback_intake.Submission(
            area_code="29377", category="infrastructure", text="Cống thoát nước ở ấp Phú Hòa bị tắc đã lâu."),
        ).feedback_id
    login(client, "approver_daloc")
    queue = client.get("/queue").text
    assert f"#{package_id} · Xã Đa Lộc</span>" in queue
    login(client, "admin")
    feedback = client.get("/feedback").text
    item = feedback[feedback.index(f'href="/feedback/{fid}"'):]
    assert '<span class="muted">Xã Đa Lộc · ' in item[:item.index("</li>")]
