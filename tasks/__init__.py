"""Prefect tasks: one step or one side effect each; IDs and object keys in and out, never bytes.

Importing this package sets Prefect's environment defaults (``settings.prefect_defaults``) before any module
of it, of ``flows`` or of ``deployments`` imports Prefect, which reads them at import."""

from settings import locate, prefect_defaults

prefect_defaults(locate()[0])
