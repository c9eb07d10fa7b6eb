"""Deployment entry points: ``prefect.yaml`` for work pools, ``serve.py`` for one long-running process."""

import tasks  # noqa: F401  # Prefect's environment is set before a deployment module imports Prefect
