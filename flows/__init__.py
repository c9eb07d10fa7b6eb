"""Prefect flows: they only wire tasks together."""

import tasks  # noqa: F401  # Prefect's environment is set before a flow module imports Prefect
