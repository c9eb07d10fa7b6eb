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
