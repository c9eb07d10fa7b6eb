"""Deployment entry points: ``prefect.yaml`` for work pools, ``serve.py`` for one long-running process."""
