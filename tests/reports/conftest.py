"""Fixtures for the reporting tests: the device tests' migrated home (areas, admin) and web app, and a
simulated province whose devices register, poll and upload play logs through the device API."""

import pytest

from services import devices as device_service
from tests.devices.conftest import client, home, template_db  # noqa: F401
from tests.reports.sim import Province


@pytest.fixture
def province(client, monkeypatch: pytest.MonkeyPatch) -> Province:  # noqa: F811
    """Devices' last-seen times are written at every request (not every 10 s), so states are exact."""
    monkeypatch.setattr(device_service, "FLUSH_SEEN_S", 0.0)
    prov = Province(client)
    for name, area in [("a1", "02200"), ("a2", "02200"), ("b1", "02203"), ("b2", "02203"), ("c1", "02206"),
                       ("c2", "02206"), ("d1", "02233")]:
        prov.add(name, area)
    return prov


@pytest.fixture(autouse=True)
def without_feedback_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests expect the feedback section "not available" (the service is merged separately); the adapter
    tests install their own stand-in."""
    import sys

    import web.app  # noqa: F401 - the feedback pages import the service before it is hidden from the adapter
    import web.feedback_handlers  # noqa: F401
    import web.open311  # noqa: F401

    monkeypatch.setitem(sys.modules, "services.feedback", None)
