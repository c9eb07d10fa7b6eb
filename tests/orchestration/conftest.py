"""Orchestration tests reuse the device tests' migrated home (areas, demo users, an admin)."""

from tests.devices.conftest import home, template_db  # noqa: F401 (fixtures)
