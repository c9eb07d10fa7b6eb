"""Use cases shared by the CLI, the web app and the flows: plain functions over a session and a store.

They validate with ``domain``, persist with ``storage`` and never import Prefect, so the CLI starts fast.
"""
