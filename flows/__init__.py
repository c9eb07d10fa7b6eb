"""Prefect flows: they only wire tasks together."""

import tasks  # noqa: F401  # Prefect's environment is set before a flow module imports Prefect
from tasks.flow_engine import install

install()  # a finished flow run does not wait up to a second for its heartbeat thread
