"""Fixes from the commune officer's walk at 360 px: the site icon, dates as dd/mm/yyyy, the dashboard chart."""

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
