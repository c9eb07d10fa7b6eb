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

